package main

import (
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// diffInputs compares old and new inputs key by key. A key whose new value
// is not known yet (a preview, where it depends on a resource that changes)
// counts as changed, as a bridged provider counts it. A key that only became
// secret, or stopped being one, is not a change. Changed keys in replaceOn
// are replacements.
func diffInputs(replaceOn []string, olds, news resource.PropertyMap) plugin.DiffResult {
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	detailed := map[string]plugin.PropertyDiff{}
	for k := range keys {
		o, hasOld := olds[k]
		n, hasNew := news[k]
		hasOld = hasOld && !o.IsNull()
		hasNew = hasNew && !n.IsNull()
		var d plugin.DiffKind
		switch {
		case !hasOld && !hasNew:
			continue
		case !hasOld:
			d = plugin.DiffAdd
		case !hasNew:
			d = plugin.DiffDelete
		case n.ContainsUnknowns() || !plain(o).DeepEquals(plain(n)):
			d = plugin.DiffUpdate
		default:
			continue
		}
		if slices.Contains(replaceOn, string(k)) {
			d = d.AsReplace()
		}
		detailed[string(k)] = plugin.PropertyDiff{Kind: d, InputDiff: true}
	}
	if len(detailed) == 0 {
		return plugin.DiffResult{Changes: plugin.DiffNone}
	}
	return plugin.DiffResult{Changes: plugin.DiffSome, DetailedDiff: detailed}
}

// plain is v with every secret replaced by the value it wraps.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsArray():
		out := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			out[i] = plain(e)
		}
		return resource.NewProperty(out)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = plain(e)
		}
		return resource.NewProperty(out)
	}
	return v
}
