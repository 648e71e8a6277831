package measure

import (
	"fmt"
	"net"
	"strconv"
)

// FreeAddr asks the kernel for a free TCP port on host (a 127.0.0.0/8
// address) and returns HOST:PORT. Another program could take the port before
// the caller binds it; the caller then fails loudly.
func FreeAddr(host string) (string, error) {
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("free port: %q is not a loopback address", host)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("free port on %s: %w", host, err)
	}
	defer ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}
