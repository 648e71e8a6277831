package status

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Prometheus text format is simple enough to read the few samples status
// needs without a client library: `name{label="value",...} value [timestamp]`.

// sample is one line of the exposition format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func parseMetrics(body []byte) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	rest := line
	if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
		s.name = line[:i]
		end := strings.LastIndexByte(line, '}')
		if end < i {
			return s, fmt.Errorf("metric line %q: unclosed labels", line)
		}
		for _, kv := range splitLabels(line[i+1 : end]) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return s, fmt.Errorf("metric line %q: label %q", line, kv)
			}
			uq, err := strconv.Unquote(v)
			if err != nil {
				return s, fmt.Errorf("metric line %q: label %q: %w", line, kv, err)
			}
			s.labels[k] = uq
		}
		rest = strings.TrimSpace(line[end+1:])
	} else {
		name, after, _ := strings.Cut(line, " ")
		s.name, rest = name, strings.TrimSpace(after)
	}
	value, _, _ := strings.Cut(rest, " ")
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return s, fmt.Errorf("metric line %q: value: %w", line, err)
	}
	s.value = v
	return s, nil
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	inQuote, escaped, start := false, false, 0
	for i, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			inQuote = !inQuote
		case r == ',' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// nodeSample is what one scrape of prometheus-node-exporter says.
type nodeSample struct {
	at              time.Time
	txBytes         float64 // every interface but loopback
	cpuIdle, cpuAll float64 // seconds, summed over CPUs
}

func nodeSampleOf(samples []sample, at time.Time) (nodeSample, error) {
	n := nodeSample{at: at}
	var sawCPU, sawNet bool
	for _, s := range samples {
		switch s.name {
		case "node_network_transmit_bytes_total":
			if s.labels["device"] != "lo" {
				n.txBytes += s.value
				sawNet = true
			}
		case "node_cpu_seconds_total":
			n.cpuAll += s.value
			if s.labels["mode"] == "idle" {
				n.cpuIdle += s.value
			}
			sawCPU = true
		}
	}
	if !sawCPU || !sawNet {
		return n, errors.New("no node_cpu_seconds_total or node_network_transmit_bytes_total: enable the cpu and netdev collectors")
	}
	return n, nil
}

// nodeRates are the rates between two samples.
type nodeRates struct {
	egressMbps, cpuPercent float64
}

func ratesBetween(a, b nodeSample) (*nodeRates, error) {
	secs := b.at.Sub(a.at).Seconds()
	switch {
	case b.txBytes < a.txBytes || b.cpuAll < a.cpuAll:
		return nil, errors.New("counters went back (the exporter or machine restarted); next refresh")
	case secs <= 0 || b.cpuAll == a.cpuAll:
		// CPU counters tick every 10 ms: samples must be further apart.
		return nil, errors.New("samples too close together to measure; next refresh")
	}
	return &nodeRates{
		egressMbps: round1((b.txBytes - a.txBytes) * 8 / secs / 1e6),
		cpuPercent: round1(100 * (1 - (b.cpuIdle-a.cpuIdle)/(b.cpuAll-a.cpuAll))),
	}, nil
}

func (c *Collector) scrapeNode(ctx context.Context, url string) (nodeSample, error) {
	body, err := c.get(ctx, url)
	if err != nil {
		return nodeSample{}, err
	}
	at := time.Now()
	samples, err := parseMetrics(body)
	if err != nil {
		return nodeSample{}, fmt.Errorf("%s: %w", url, err)
	}
	s, err := nodeSampleOf(samples, at)
	if err != nil {
		return nodeSample{}, fmt.Errorf("%s: %w", url, err)
	}
	return s, nil
}

// nodeRates scrapes the node exporter at url and computes rates since the
// previous Collect's scrape of it, or over RateWindow on the first one.
func (c *Collector) nodeRates(ctx context.Context, url string) (*nodeRates, error) {
	c.mu.Lock()
	prev, ok := c.prev[url]
	c.mu.Unlock()
	if ok {
		// Rates over less than RateWindow are mostly noise (and CPU
		// counters tick every 10 ms): wait for the rest of it.
		if wait := c.RateWindow - time.Since(prev.at); wait > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
	} else {
		first, err := c.scrapeNode(ctx, url)
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.RateWindow):
		}
		prev = first
	}
	now, err := c.scrapeNode(ctx, url)
	if err != nil {
		c.mu.Lock()
		delete(c.prev, url)
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Lock()
	c.prev[url] = now
	c.mu.Unlock()
	return ratesBetween(prev, now)
}

// connections reads nginx_connections_active from prometheus-nginx-exporter;
// nginx_up 0 means the exporter could not read stub_status.
func (c *Collector) connections(ctx context.Context, url string) (int, error) {
	body, err := c.get(ctx, url)
	if err != nil {
		return 0, err
	}
	samples, err := parseMetrics(body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", url, err)
	}
	conns, up := -1.0, -1.0
	for _, s := range samples {
		switch s.name {
		case "nginx_connections_active":
			conns = s.value
		case "nginx_up":
			up = s.value
		}
	}
	if up == 0 {
		return 0, fmt.Errorf("%s: nginx_up is 0: the exporter cannot read stub_status", url)
	}
	if conns < 0 {
		return 0, fmt.Errorf("%s: no nginx_connections_active", url)
	}
	return int(conns), nil
}
