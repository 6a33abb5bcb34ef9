// Command dashboard-check checks Grafana dashboard JSON files strictly against the schema of the
// Grafana Foundation SDK: unknown fields, wrong types, missing required fields and failed
// constraints, down to each panel's options, field config and queries. Grafana itself (AGPL) is
// not needed, and the Python SDK that writes our dashboard has no strict mode.
//
//	dashboard-check FILE.json...
//
// It prints one OK line per good file and exits 0; otherwise it prints every problem with the
// panel it is in (title and id) and exits 1. Exit 2: a file could not be read.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

const sdkModule = "github.com/grafana/grafana-foundation-sdk/go"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dashboard-check FILE.json...")
		os.Exit(2)
	}
	// Without the panel and query plugins registered, the SDK decodes a panel's options,
	// fieldConfig.defaults.custom and targets as free-form maps and so accepts anything there.
	plugins.RegisterDefaultPlugins()
	status := 0
	for _, path := range os.Args[1:] {
		raw, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dashboard-check:", err)
			os.Exit(2)
		}
		panels := loosePanels(raw)
		problems := check(raw, panels)
		if len(problems) == 0 {
			fmt.Printf("dashboard-check: %s OK (strict schema of grafana-foundation-sdk %s)\n", path, sdkVersion())
			continue
		}
		status = 1
		for _, problem := range problems {
			fmt.Printf("dashboard-check: %s: %s: %s: %s\n", path, panels.where(problem.Path), problem.Path, problem.Message)
		}
		fmt.Printf("dashboard-check: %s FAILED: %d problem(s)\n", path, len(problems))
	}
	os.Exit(status)
}

// check decodes the dashboard strictly (plus each panel's fieldConfig, see below) and then
// validates it. Validation runs only on a dashboard that decoded cleanly: on a partly decoded one
// it would repeat the decoding errors in other words.
func check(raw []byte, panels panelList) []*cog.BuildError {
	var board dashboard.Dashboard
	problems := buildErrors(board.UnmarshalJSONStrict(raw))
	problems = append(problems, panels.fieldConfigProblems()...)
	if len(problems) > 0 {
		return problems
	}
	return buildErrors(board.Validate())
}

// fieldConfigProblems decodes each panel's fieldConfig strictly. The SDK's strict Panel decoder
// checks only fieldConfig.defaults.custom strictly and the rest loosely, so an unknown key in the
// defaults (`unitt`, `thresholds.stepz`) or in an override would otherwise pass.
func (panels panelList) fieldConfigProblems() []*cog.BuildError {
	var problems []*cog.BuildError
	visit := func(path string, panel any) {
		fieldConfig := asPanel(panel)["fieldConfig"]
		if fieldConfig == nil { // absent or null, as the SDK allows
			return
		}
		encoded, _ := json.Marshal(fieldConfig) // it came from JSON, so it encodes
		var source dashboard.FieldConfigSource
		for _, problem := range buildErrors(source.UnmarshalJSONStrict(encoded)) {
			problems = append(problems, &cog.BuildError{Path: path + ".fieldConfig." + problem.Path, Message: problem.Message})
		}
	}
	for i, panel := range panels {
		visit(fmt.Sprintf("panels[%d]", i), panel)
		inner, _ := panel["panels"].([]any)
		for j, child := range inner {
			visit(fmt.Sprintf("panels[%d].panels[%d]", i, j), child)
		}
	}
	return problems
}

// buildErrors flattens what the SDK returns into path + message pairs. Its UnmarshalJSONStrict
// returns a nil cog.BuildErrors as a non-nil error when all is well, so the length is what counts.
func buildErrors(err error) []*cog.BuildError {
	var many cog.BuildErrors
	var one *cog.BuildError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &many):
		return many
	case errors.As(err, &one):
		return []*cog.BuildError{one}
	default: // plain JSON errors, e.g. a syntax error or `panels` that is not a list
		return []*cog.BuildError{{Path: "(file)", Message: err.Error()}}
	}
}

// panelList is the dashboard's panels read loosely (any shape decodes), to name the panel that an
// error path such as `panels[3].fieldConfig...` or `panels[2].panels[0].gridPos.w` points into:
// a row's own `panels` (where a collapsed row keeps its panels) is the second index.
type panelList []map[string]any

// asPanel is a panel read loosely, or an empty one if it is not even a JSON object.
func asPanel(value any) map[string]any {
	panel, _ := value.(map[string]any)
	return panel
}

var panelIndex = regexp.MustCompile(`panels\[(\d+)\]`)

func loosePanels(raw []byte) panelList {
	var board struct {
		Panels panelList `json:"panels"`
	}
	_ = json.Unmarshal(raw, &board) // a file that is not JSON at all has no panels to name
	return board.Panels
}

// where names the panel (and the row it is in) that an error path points into.
func (panels panelList) where(path string) string {
	match := panelIndex.FindAllStringSubmatch(path, 2)
	if len(match) == 0 {
		return "dashboard"
	}
	i, _ := strconv.Atoi(match[0][1])
	if i >= len(panels) {
		return "dashboard"
	}
	outer := panels[i]
	if len(match) == 1 {
		return describe(outer)
	}
	j, _ := strconv.Atoi(match[1][1])
	if inner, _ := outer["panels"].([]any); j < len(inner) {
		return describe(asPanel(inner[j])) + " in " + describe(outer)
	}
	return describe(outer)
}

func describe(panel map[string]any) string {
	kind := "panel"
	if panel["type"] == "row" {
		kind = "row"
	}
	return fmt.Sprintf("%s %q (id %v)", kind, fmt.Sprint(panel["title"]), panel["id"])
}

// sdkVersion is the SDK version compiled in, so the OK line says which schema passed.
func sdkVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == sdkModule {
				return dep.Version
			}
		}
	}
	return "(unknown version)"
}
