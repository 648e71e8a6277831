package blueprint

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGeoSteeringSendsEveryViewerRegionToTheNearestEdges(t *testing.T) {
	got, err := GeoSteering([]string{"sgp1", "nyc3", "ams3", "ams3"})
	require.NoError(t, err)
	// Great-circle distances in km from each region's city (Paris, Cairo,
	// Johannesburg, ...) to Amsterdam / New York / Singapore decide the order,
	// e.g. NAF 3283 / 9023 / 8260 and SAF 9022 / 12840 / 8659.
	want := map[string][]string{
		"WNAM": {"nyc3", "ams3", "sgp1"},
		"ENAM": {"nyc3", "ams3", "sgp1"},
		"WEU":  {"ams3", "nyc3", "sgp1"},
		"EEU":  {"ams3", "nyc3", "sgp1"},
		"NSAM": {"nyc3", "ams3", "sgp1"},
		"SSAM": {"nyc3", "ams3", "sgp1"},
		"OC":   {"sgp1", "nyc3", "ams3"},
		"ME":   {"ams3", "sgp1", "nyc3"},
		"NAF":  {"ams3", "sgp1", "nyc3"},
		"SAF":  {"sgp1", "ams3", "nyc3"},
		"SAS":  {"sgp1", "ams3", "nyc3"},
		"SEAS": {"sgp1", "ams3", "nyc3"},
		"NEAS": {"sgp1", "ams3", "nyc3"},
	}
	require.Len(t, got, 13, "every Cloudflare region is steered")
	for _, s := range got {
		require.Equal(t, want[s.Cloudflare], s.Regions, s.Cloudflare)
	}
}

func TestGeoSteeringWithOneRegionSendsEveryoneThere(t *testing.T) {
	got, err := GeoSteering([]string{"ams3"})
	require.NoError(t, err)
	for _, s := range got {
		require.Equal(t, []string{"ams3"}, s.Regions)
	}
}

func TestGeoSteeringRejectsUnknownRegions(t *testing.T) {
	_, err := GeoSteering([]string{"mars1"})
	require.ErrorContains(t, err, `"mars1"`)
	_, err = GeoSteering(nil)
	require.Error(t, err)
}

func TestDistance(t *testing.T) {
	// Amsterdam to New York is about 5,860 km.
	require.InDelta(t, 5860, distanceKm(52.37, 4.90, 40.71, -74.01), 30)
}
