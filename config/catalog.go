package config

import (
	"cmp"
	"slices"
)

// The figures below are DigitalOcean's published list prices and limits (the Droplet pricing page and
// `doctl compute size list`, read in 2025). They drift: refresh them with
// `doctl compute size list --format Slug,VCPUs,Memory,Disk,PriceMonthly,PriceHourly` before an event and
// update this file in the same change that notices a difference. They live in this one place so that the
// validator (which sizes exist) and the planner (what they cost and carry) cannot disagree.

// BillingHoursPerMonth is how many hours DigitalOcean bills before it stops at the monthly price, and
// over how many hours a Droplet accrues its monthly transfer allowance. It is four weeks, not an average
// month: the published hourly prices are the monthly ones divided by 672.
const BillingHoursPerMonth = 672

// EgressUSDPerGiB is what DigitalOcean charges for outbound public transfer past the team's pooled
// allowance. Inbound and VPC traffic are free, so only viewer and origin-to-edge egress count.
const EgressUSDPerGiB = 0.01

// GiBPerTB converts a size's allowance to GiB: DigitalOcean counts "1 TB" of transfer as 1,000 GiB.
const GiBPerTB = 1000

// Size is one DigitalOcean Droplet size: what it costs and how much video it can push.
type Size struct {
	// Slug is DigitalOcean's name for the size, as the API and stack files spell it.
	Slug string
	// VCPUs bounds how many renditions the origin can transcode.
	VCPUs int
	// MemoryGiB is listed so a reader can match the slug to the pricing page.
	MemoryGiB int
	// DiskGiB bounds how many hours of source a recording origin can keep.
	DiskGiB int
	// PriceMonthlyUSD is the list price for a full billing month.
	PriceMonthlyUSD float64
	// TransferTB is the outbound allowance a Droplet of this size accrues per billing month.
	TransferTB float64
	// NetworkGbps is the public network cap: 2 Gbps on regular Droplets, 10 Gbps on premium
	// (-amd, -intel) ones. It, not the CPU, is what limits how many viewers an edge serves.
	NetworkGbps float64
}

// PriceHourlyUSD is what one hour of this size costs, the way DigitalOcean derives it.
func (s Size) PriceHourlyUSD() float64 { return s.PriceMonthlyUSD / BillingHoursPerMonth }

// TransferGiBPerHour is the pooled outbound allowance one Droplet of this size accrues per hour it exists.
func (s Size) TransferGiBPerHour() float64 {
	return s.TransferTB * GiBPerTB / BillingHoursPerMonth
}

// sizes lists only slugs whose figures we could check against DigitalOcean's published tables. Premium
// Intel slugs are left out on purpose: their prices were not confirmed.
var sizes = []Size{
	{Slug: "s-1vcpu-1gb", VCPUs: 1, MemoryGiB: 1, DiskGiB: 25, PriceMonthlyUSD: 6, TransferTB: 1, NetworkGbps: 2},
	{Slug: "s-1vcpu-2gb", VCPUs: 1, MemoryGiB: 2, DiskGiB: 50, PriceMonthlyUSD: 12, TransferTB: 2, NetworkGbps: 2},
	{Slug: "s-2vcpu-2gb", VCPUs: 2, MemoryGiB: 2, DiskGiB: 60, PriceMonthlyUSD: 18, TransferTB: 3, NetworkGbps: 2},
	{Slug: "s-2vcpu-4gb", VCPUs: 2, MemoryGiB: 4, DiskGiB: 80, PriceMonthlyUSD: 24, TransferTB: 4, NetworkGbps: 2},
	{Slug: "s-4vcpu-8gb", VCPUs: 4, MemoryGiB: 8, DiskGiB: 160, PriceMonthlyUSD: 48, TransferTB: 5, NetworkGbps: 2},
	{Slug: "s-8vcpu-16gb", VCPUs: 8, MemoryGiB: 16, DiskGiB: 320, PriceMonthlyUSD: 96, TransferTB: 6, NetworkGbps: 2},
	{Slug: "s-1vcpu-1gb-amd", VCPUs: 1, MemoryGiB: 1, DiskGiB: 25, PriceMonthlyUSD: 7, TransferTB: 1, NetworkGbps: 10},
	{Slug: "s-1vcpu-2gb-amd", VCPUs: 1, MemoryGiB: 2, DiskGiB: 50, PriceMonthlyUSD: 14, TransferTB: 2, NetworkGbps: 10},
	{Slug: "s-2vcpu-4gb-amd", VCPUs: 2, MemoryGiB: 4, DiskGiB: 80, PriceMonthlyUSD: 28, TransferTB: 4, NetworkGbps: 10},
	{Slug: "s-4vcpu-8gb-amd", VCPUs: 4, MemoryGiB: 8, DiskGiB: 160, PriceMonthlyUSD: 56, TransferTB: 5, NetworkGbps: 10},
	{Slug: "s-8vcpu-16gb-amd", VCPUs: 8, MemoryGiB: 16, DiskGiB: 320, PriceMonthlyUSD: 112, TransferTB: 6, NetworkGbps: 10},
	// CPU-Optimized sizes have dedicated vCPUs (steady transcoding on the origin) but the regular 2 Gbps cap.
	{Slug: "c-2", VCPUs: 2, MemoryGiB: 4, DiskGiB: 25, PriceMonthlyUSD: 42, TransferTB: 4, NetworkGbps: 2},
	{Slug: "c-4", VCPUs: 4, MemoryGiB: 8, DiskGiB: 50, PriceMonthlyUSD: 84, TransferTB: 5, NetworkGbps: 2},
	{Slug: "c-8", VCPUs: 8, MemoryGiB: 16, DiskGiB: 100, PriceMonthlyUSD: 168, TransferTB: 6, NetworkGbps: 2},
}

// Sizes returns every size the project knows, cheapest first, so error messages list sensible choices first.
func Sizes() []Size {
	out := slices.Clone(sizes)
	slices.SortStableFunc(out, func(a, b Size) int {
		return cmp.Or(cmp.Compare(a.PriceMonthlyUSD, b.PriceMonthlyUSD), cmp.Compare(a.Slug, b.Slug))
	})
	return out
}

// LookupSize returns the size with the given slug; ok is false for a slug this project does not know.
func LookupSize(slug string) (Size, bool) {
	for _, s := range sizes {
		if s.Slug == slug {
			return s, true
		}
	}
	return Size{}, false
}

// Region is one DigitalOcean datacenter that may host an origin or edges.
type Region struct {
	// Slug is DigitalOcean's name for the region, as the API and stack files spell it.
	Slug string
	// City makes error messages and plans readable by people who do not know the slugs.
	City string
	// CloudflareRegion is the Cloudflare Load Balancing region whose viewers this datacenter serves
	// best, so geo steering can send each viewer region to its nearest edges.
	CloudflareRegion string
	// Latitude and Longitude place the datacenter's city, for ordering regions by distance.
	Latitude, Longitude float64
}

var regions = []Region{
	{Slug: "ams3", City: "Amsterdam", CloudflareRegion: "WEU", Latitude: 52.37, Longitude: 4.9},
	{Slug: "atl1", City: "Atlanta", CloudflareRegion: "ENAM", Latitude: 33.75, Longitude: -84.39},
	{Slug: "blr1", City: "Bangalore", CloudflareRegion: "SAS", Latitude: 12.97, Longitude: 77.59},
	{Slug: "fra1", City: "Frankfurt", CloudflareRegion: "WEU", Latitude: 50.11, Longitude: 8.68},
	{Slug: "lon1", City: "London", CloudflareRegion: "WEU", Latitude: 51.51, Longitude: -0.13},
	{Slug: "nyc1", City: "New York", CloudflareRegion: "ENAM", Latitude: 40.71, Longitude: -74.01},
	{Slug: "nyc3", City: "New York", CloudflareRegion: "ENAM", Latitude: 40.71, Longitude: -74.01},
	{Slug: "sfo2", City: "San Francisco", CloudflareRegion: "WNAM", Latitude: 37.77, Longitude: -122.42},
	{Slug: "sfo3", City: "San Francisco", CloudflareRegion: "WNAM", Latitude: 37.77, Longitude: -122.42},
	{Slug: "sgp1", City: "Singapore", CloudflareRegion: "SEAS", Latitude: 1.35, Longitude: 103.82},
	{Slug: "syd1", City: "Sydney", CloudflareRegion: "OC", Latitude: -33.87, Longitude: 151.21},
	{Slug: "tor1", City: "Toronto", CloudflareRegion: "ENAM", Latitude: 43.65, Longitude: -79.38},
}

// Regions returns every region the project knows, sorted by slug.
func Regions() []Region { return slices.Clone(regions) }

// LookupRegion returns the region with the given slug; ok is false for a slug this project does not know.
func LookupRegion(slug string) (Region, bool) {
	for _, r := range regions {
		if r.Slug == slug {
			return r, true
		}
	}
	return Region{}, false
}

func sizeSlugs() []string {
	var out []string
	for _, s := range Sizes() {
		out = append(out, s.Slug)
	}
	return out
}

func regionSlugs() []string {
	var out []string
	for _, r := range regions {
		out = append(out, r.Slug)
	}
	return out
}
