package lab

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowestPort is the first port freePorts may pick: above the well-known
// and most registered services' ports.
const lowestPort = 10000

// freePorts finds n free TCP ports on addr below the kernel's ephemeral
// range (ip_local_port_range), checking that each binds. The kernel hands
// out ephemeral ports to every `:0` listener and outgoing connection, so a
// port it gave the lab and the lab released could be taken by either before
// nginx binds it (a test server on 127.0.0.1:0 did); below that range only
// another program choosing the same port by chance can take it, and the lab
// then fails to start, loudly.
func freePorts(addr string, n int) ([]int, error) {
	highest := ephemeralLow() - 1
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("free port on %s: none of 1000 tries between %d and %d was free", addr, lowestPort, highest)
		}
		port := lowestPort + rand.IntN(highest-lowestPort+1)
		ln, err := net.Listen("tcp", hostPort(addr, port))
		if err != nil {
			continue
		}
		listeners = append(listeners, ln)
		ports = append(ports, port)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768 on
// Linux unless configured otherwise).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > lowestPort+1000 {
				low = n
			}
		}
	}
	return low
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
