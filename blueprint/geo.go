package blueprint

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/livecdn/livecdn/config"
)

// CloudflareRegion is one of Cloudflare Load Balancing's geo-steering
// regions, placed at a large city inside it.
type CloudflareRegion struct {
	// Code is Cloudflare's region code, e.g. "WEU".
	Code string
	// Latitude and Longitude place the region's representative city.
	Latitude, Longitude float64
}

// CloudflareRegions are every region Cloudflare steers by, so every viewer
// is covered, whatever regions a stack deploys.
var CloudflareRegions = []CloudflareRegion{
	{"WNAM", 37.77, -122.42}, // western North America: San Francisco
	{"ENAM", 40.71, -74.01},  // eastern North America: New York
	{"WEU", 48.86, 2.35},     // western Europe: Paris
	{"EEU", 52.23, 21.01},    // eastern Europe: Warsaw
	{"NSAM", 4.71, -74.07},   // northern South America: Bogotá
	{"SSAM", -23.55, -46.63}, // southern South America: São Paulo
	{"OC", -33.87, 151.21},   // Oceania: Sydney
	{"ME", 25.20, 55.27},     // Middle East: Dubai
	{"NAF", 30.04, 31.24},    // northern Africa: Cairo
	{"SAF", -26.20, 28.05},   // southern Africa: Johannesburg
	{"SAS", 19.08, 72.88},    // southern Asia: Mumbai
	{"SEAS", 1.35, 103.82},   // south-east Asia: Singapore
	{"NEAS", 35.68, 139.69},  // north-east Asia: Tokyo
}

// Steering is where one Cloudflare region's viewers go: the deployed
// DigitalOcean regions, nearest first; the rest are its fallbacks.
type Steering struct {
	// Cloudflare is the Cloudflare region code.
	Cloudflare string
	// Regions are DigitalOcean region slugs, nearest first.
	Regions []string
}

// GeoSteering maps every Cloudflare region to the deployed regions in order
// of distance. It is computed from the edges' regions, never written per
// stack, so a new region is steered to as soon as it has edges.
func GeoSteering(deployed []string) ([]Steering, error) {
	var places []config.Region
	for _, slug := range slices.Compact(slices.Sorted(slices.Values(deployed))) {
		r, ok := config.LookupRegion(slug)
		if !ok {
			return nil, fmt.Errorf("geo steering: unknown region %q", slug)
		}
		places = append(places, r)
	}
	if len(places) == 0 {
		return nil, fmt.Errorf("geo steering: no regions to steer to")
	}
	out := make([]Steering, 0, len(CloudflareRegions))
	for _, cf := range CloudflareRegions {
		ordered := slices.Clone(places)
		slices.SortStableFunc(ordered, func(a, b config.Region) int {
			return cmp.Compare(distanceKm(cf.Latitude, cf.Longitude, a.Latitude, a.Longitude),
				distanceKm(cf.Latitude, cf.Longitude, b.Latitude, b.Longitude))
		})
		s := Steering{Cloudflare: cf.Code}
		for _, r := range ordered {
			s.Regions = append(s.Regions, r.Slug)
		}
		out = append(out, s)
	}
	return out, nil
}

// distanceKm is the great-circle distance between two places.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(a))
}
