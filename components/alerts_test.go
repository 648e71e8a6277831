package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/livecdn/livecdn/config"
)

func TestEgressThresholdIsAShareOfTheNetworkCapInMbps(t *testing.T) {
	for _, tc := range []struct {
		size    string
		percent int
		want    float64
	}{
		{"s-4vcpu-8gb-amd", 80, 8000}, // premium: 10 Gbps
		{"s-1vcpu-1gb", 80, 1600},     // regular: 2 Gbps
		{"c-4", 50, 1000},
	} {
		size, ok := config.LookupSize(tc.size)
		require.True(t, ok)
		require.Equal(t, tc.want, EgressThresholdMbps(size, tc.percent), tc.size)
	}
}

type noMocks struct{}

func (noMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name, args.Inputs, nil
}
func (noMocks) Call(pulumi.MockCallArgs) (resource.PropertyMap, error) { return nil, nil }

func TestNewAlertsNeedsADestinationAndAWebhookWithSlack(t *testing.T) {
	for _, tc := range []struct {
		name string
		args *AlertsArgs
	}{
		{"no args", nil},
		{"no destination", &AlertsArgs{Settings: config.Alerts{EgressPercent: 80, CPUPercent: 90}}},
		{"a channel without a webhook", &AlertsArgs{Settings: config.Alerts{SlackChannel: "#ops", EgressPercent: 80, CPUPercent: 90}}},
		{"a webhook without a channel", &AlertsArgs{Settings: config.Alerts{Emails: []string{"ops@livecdn.dev"}},
			SlackWebhook: pulumi.String("https://hooks.slack.com/services/x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				_, err := NewAlerts(ctx, "alerts", tc.args)
				return err
			}, pulumi.WithMocks("livecdn", "test", noMocks{}))
			require.ErrorContains(t, err, `alerts "alerts": Settings with a destination are required`)
		})
	}
}
