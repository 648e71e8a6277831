package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// decodeJSON decodes one key's raw value into out (a pointer) strictly and reports every problem under
// path. encoding/json's DisallowUnknownFields stops at the first unknown field and does not say where it
// is, so the value is decoded generically first and then walked against out's type: each problem gets
// its own path and the list of valid fields. Text that is not JSON is treated as a JSON string, which is
// how Pulumi hands over a scalar set on an object or array key, so the message reads "want an object,
// got "foo"".
func decodeJSON(p *problems, path, raw string, out any) {
	var data any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil || dec.More() {
		data = raw
	}
	assign(p, path, data, reflect.ValueOf(out).Elem())
}

// assign stores generically decoded JSON data into v, which must be settable.
func assign(p *problems, path string, data any, v reflect.Value) {
	t := v.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if data == nil { // null is the same as leaving the field out
			return
		}
		elem := reflect.New(t.Elem())
		assign(p, path, data, elem.Elem())
		v.Set(elem)
	case reflect.Struct:
		obj, ok := data.(map[string]any)
		if !ok {
			p.addf(path, "", "want an object with fields %s, got %s", strings.Join(fieldNames(t), ", "), describe(data))
			return
		}
		for _, name := range sortedKeys(obj) {
			i, known := fieldIndex(t, name)
			if !known {
				valid := fieldNames(t)
				hint := ""
				if c, ok := closest(name, valid); ok {
					hint = fmt.Sprintf(" (did you mean %q?)", c)
				}
				p.addf(path, "", "unknown field %q%s; valid fields are %s", name, hint, strings.Join(valid, ", "))
				continue
			}
			assign(p, path+"."+name, obj[name], v.Field(i))
		}
	case reflect.Slice:
		arr, ok := data.([]any)
		if !ok {
			p.addf(path, "", "want a list, got %s", describe(data))
			return
		}
		s := reflect.MakeSlice(t, len(arr), len(arr))
		for i, item := range arr {
			assign(p, fmt.Sprintf("%s[%d]", path, i), item, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		obj, ok := data.(map[string]any)
		if !ok {
			p.addf(path, "", "want a map, got %s", describe(data))
			return
		}
		m := reflect.MakeMapWithSize(t, len(obj))
		for _, k := range sortedKeys(obj) {
			elem := reflect.New(t.Elem()).Elem()
			assign(p, path+"."+k, obj[k], elem)
			m.SetMapIndex(reflect.ValueOf(k), elem)
		}
		v.Set(m)
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			p.addf(path, "", "want a string, got %s", describe(data))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			p.addf(path, "", "want true or false, got %s", describe(data))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		n, ok := data.(json.Number)
		if !ok {
			p.addf(path, "", "want a whole number, got %s", describe(data))
			return
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			// YAML and Pulumi may write a whole number as 2.0; anything else is not an integer.
			f, ferr := n.Float64()
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
				p.addf(path, "", "want a whole number, got %s", n)
				return
			}
			i = int64(f)
		}
		v.SetInt(i)
	case reflect.Float64:
		n, ok := data.(json.Number)
		if !ok {
			p.addf(path, "", "want a number, got %s", describe(data))
			return
		}
		f, err := n.Float64()
		if err != nil {
			p.addf(path, "", "want a number, got %s", n)
			return
		}
		v.SetFloat(f)
	default:
		// Only the raw types in this package reach here; a new field kind is a programming error that
		// tests catch, so say so instead of silently dropping the value.
		p.addf(path, "", "cannot decode into %s (livecdn bug)", t)
	}
}

// describe renders a decoded JSON value for an error message, short enough to read on one line.
func describe(data any) string {
	switch d := data.(type) {
	case nil:
		return "null"
	case string:
		if r := []rune(d); len(r) > 60 {
			d = string(r[:57]) + "..."
		}
		return strconv.Quote(d)
	case json.Number:
		return d.String()
	case bool:
		return strconv.FormatBool(d)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%v", d)
	}
}

// fieldNames lists the JSON names of t's fields, sorted, for "valid fields are ..." messages.
func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// fieldIndex finds the field of t whose JSON name is exactly name: stack files are case-sensitive, as
// Pulumi's own config is, so `fragmentseconds` is a typo and not an alias.
func fieldIndex(t reflect.Type, name string) (int, bool) {
	for i := range t.NumField() {
		if jsonName(t.Field(i)) == name {
			return i, true
		}
	}
	return 0, false
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
