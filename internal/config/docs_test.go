package config

import (
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	examplePath = "../../switchboard.example.yaml"
	docsPath    = "../../docs/CONFIG.md"
)

// yamlKeys returns the dotted YAML key of every leaf field of t.
func yamlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if prefix != "" {
			name = prefix + "." + name
		}
		if f.Type.Kind() == reflect.Struct && f.Type.String() != "time.Duration" {
			keys = append(keys, yamlKeys(f.Type, name)...)
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

// flatten returns the dotted keys of a decoded YAML mapping.
func flatten(m map[string]any, prefix string) []string {
	var keys []string
	for k, v := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			keys = append(keys, flatten(sub, k)...)
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

// TestExampleFile: the shipped example loads, validates, holds every key
// and shows the defaults.
func TestExampleFile(t *testing.T) {
	c, err := Load(examplePath, nil, nil)
	if err != nil {
		t.Fatalf("Load(example): %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("example does not validate: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("example differs from Default():\n%+v\n%+v", c, Default())
	}
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	got := flatten(m, "")
	want := yamlKeys(reflect.TypeFor[Config](), "")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("example keys = %v\nwant %v", got, want)
	}
}

// TestDocsComplete: docs/CONFIG.md names every key, variable and flag.
func TestDocsComplete(t *testing.T) {
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var names []string
	for _, k := range yamlKeys(reflect.TypeFor[Config](), "") {
		names = append(names, "`"+k+"`")
	}
	for _, ev := range envVars {
		names = append(names, "`"+ev.name)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	RegisterFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "`--"+f.Name) })
	for _, n := range names {
		if !strings.Contains(doc, n) {
			t.Errorf("docs/CONFIG.md does not mention %s", n)
		}
	}
}

// TestEnvVarsCoverKeys: every key can be set from the environment, each by
// exactly one variable.
func TestEnvVarsCoverKeys(t *testing.T) {
	var got []string
	for _, ev := range envVars {
		got = append(got, ev.key)
	}
	want := yamlKeys(reflect.TypeFor[Config](), "")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("environment keys = %v\nwant %v", got, want)
	}
}
