package blueprint

import "slices"

// Record is one DNS record a stack declares: a hostname answering with one
// machine's addresses (A for IPv4 and, where the machine has one, AAAA for
// IPv6). Several records may share a hostname: a round-robin.
type Record struct {
	// Resource names the record among the stack's resources; it never
	// changes for the same edge and hostname, so adding an edge only adds
	// records, e.g. "ams3-1-region".
	Resource string
	// Host is the fully qualified hostname, e.g. ams3.live.example.org.
	Host string
	// Machine is the name of the machine whose address answers.
	Machine string
	// IPv6 says the record also has an AAAA twin (edges have IPv6; the
	// origin's reserved IP is IPv4 only).
	IPv6 bool
}

// records are the records of a stack with DNS: the origin's ingest name;
// for each edge its own name and its region's name; and, without a load
// balancer, the viewers' name as a round-robin over all edges (with one,
// the load balancer answers for it).
func records(domain string, origin Machine, edges []Machine, loadBalancing bool) []Record {
	out := []Record{{Resource: "ingest", Host: IngestHost(domain), Machine: origin.Name}}
	for _, e := range edges {
		out = append(out,
			Record{Resource: e.Name, Host: EdgeHost(domain, e.Name), Machine: e.Name, IPv6: true},
			Record{Resource: e.Name + "-region", Host: RegionHost(domain, e.Region), Machine: e.Name, IPv6: true})
		if !loadBalancing {
			out = append(out, Record{Resource: e.Name + "-viewers", Host: domain, Machine: e.Name, IPv6: true})
		}
	}
	return out
}

// hostnamesOf lists the hostnames that answer with machine's address.
func hostnamesOf(rs []Record, machine string) []string {
	var out []string
	for _, r := range rs {
		if r.Machine == machine {
			out = append(out, r.Host)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
