package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSizePrices checks the table against DigitalOcean's published hourly prices, which are the monthly
// ones over 672 hours, rounded to five places on the pricing page.
func TestSizePrices(t *testing.T) {
	published := map[string]float64{
		"s-1vcpu-1gb":     0.00893,
		"s-2vcpu-4gb":     0.03571,
		"s-4vcpu-8gb":     0.07143,
		"s-4vcpu-8gb-amd": 0.08333,
		"c-2":             0.0625,
		"c-4":             0.125,
	}
	for slug, hourly := range published {
		size, ok := LookupSize(slug)
		require.True(t, ok, slug)
		require.InDelta(t, hourly, size.PriceHourlyUSD(), 0.000005, slug)
	}
	// 1 TB a month is 1,000 GiB accrued over 672 hours: 1.488 GiB per hour.
	size, _ := LookupSize("s-1vcpu-1gb")
	require.InDelta(t, 1.488, size.TransferGiBPerHour(), 0.001)
}

func TestSizeTable(t *testing.T) {
	all := Sizes()
	require.True(t, slices.IsSortedFunc(all, func(a, b Size) int {
		if a.PriceMonthlyUSD < b.PriceMonthlyUSD {
			return -1
		}
		if a.PriceMonthlyUSD > b.PriceMonthlyUSD {
			return 1
		}
		return strings.Compare(a.Slug, b.Slug)
	}), "cheapest first")
	seen := map[string]bool{}
	for _, s := range all {
		require.False(t, seen[s.Slug], "duplicate %s", s.Slug)
		seen[s.Slug] = true
		premium := strings.HasSuffix(s.Slug, "-amd") || strings.HasSuffix(s.Slug, "-intel")
		if premium {
			require.Equal(t, 10.0, s.NetworkGbps, "%s is premium: 10 Gbps", s.Slug)
		} else {
			require.Equal(t, 2.0, s.NetworkGbps, "%s is regular: 2 Gbps", s.Slug)
		}
		require.Positive(t, s.VCPUs)
		require.Positive(t, s.DiskGiB)
		require.Positive(t, s.TransferTB)
	}
	_, ok := LookupSize("s-2vcpu-3gb")
	require.False(t, ok)
}

func TestRegionTable(t *testing.T) {
	var slugs []string
	for _, r := range Regions() {
		slugs = append(slugs, r.Slug)
		require.NotEmpty(t, r.City)
		require.Contains(t, []string{"WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS"},
			r.CloudflareRegion, r.Slug)
	}
	require.Equal(t, []string{"ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"}, slugs)
	r, ok := LookupRegion("sgp1")
	require.True(t, ok)
	require.Equal(t, "SEAS", r.CloudflareRegion)
}
