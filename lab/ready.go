package lab

import (
	"context"
	"fmt"
	"time"
)

// WaitReady returns once the origin's stat page answers and every edge
// serves a playable playlist (with a source) or answers HTTP (without one).
func (l *Lab) WaitReady(ctx context.Context) error {
	check := func(what string, probe func() error) error {
		var last error
		for {
			if last = probe(); last == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), last)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	if err := check("origin", func() error { _, err := Get(ctx, l.info.OriginStat); return err }); err != nil {
		return err
	}
	for _, e := range l.info.Edges {
		probe := func() error { _, err := Get(ctx, e.Player); return err }
		if l.source != nil {
			probe = func() error {
				if _, err := Get(ctx, e.Health); err != nil {
					return err
				}
				return CheckPlayable(ctx, e.HLS)
			}
		}
		if err := check(e.Name, probe); err != nil {
			return err
		}
	}
	return nil
}
