// Package rehearsal boots a stack's machines locally, as QEMU virtual machines
// running the same Debian 12 image and the same cloud-init user data the
// droplets get, so a change can be rehearsed before it reaches DigitalOcean.
//
// Everything runs inside one private network namespace per rehearsal
// (Network): a bridge "br0" joins the VMs' taps; addresses on the bridge let
// processes in the namespace play the encoder, the operator, the viewers and
// the services the VMs need (a DNS server, the apt repository). The namespace
// has no link to the host's namespace and nothing routes out of it, so the
// VMs cannot reach the host or the internet, and nothing outside can reach
// them.
//
// The cloud's behaviour is imitated where our configuration depends on it:
// SetFirewall enforces DigitalOcean cloud firewall semantics (stateful,
// inbound rules per guarded machine, outbound open, drop rather than reject)
// with nftables; ServeDNS answers like Cloudflare's DNS-only records
// (several addresses per name) with dnsmasq; each VM gets a NoCloud seed
// with the user data byte for byte, an instance-id and the stack's SSH keys,
// as cloud-init receives them from DigitalOcean's metadata service.
//
// A rehearsal cleans up after itself on Close, and a later one cleans up what
// a killed one left: namespaces are named PREFIX-PID and CleanupStale removes
// those whose creator is gone, with their processes and files.
//
// The package needs root, iproute2, nftables, dnsmasq (dnsmasq-base),
// qemu-system-x86, qemu-utils, genisoimage and openssh-client.
package rehearsal
