package ui

import (
	"encoding/json"
	"fmt"
	"strings"
)

// streamEvent is one line of a claude stream log (--output-format
// stream-json), as much of it as a person reads.
type streamEvent struct {
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	Model   string `json:"model"`
	Message struct {
		Content json.RawMessage `json:"content"`
	} `json:"message"`
	IsError  bool     `json:"is_error"`
	NumTurns int      `json:"num_turns"`
	Result   string   `json:"result"`
	Cost     *float64 `json:"total_cost_usd"`
}

// contentBlock is one block of a message's content.
type contentBlock struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Name    string          `json:"name"`
	Input   json.RawMessage `json:"input"`
	Content json.RawMessage `json:"content"`
	IsError bool            `json:"is_error"`
}

// renderStream turns a stream log's last lines into lines for a person:
// assistant text, tool calls and their results, the result line with
// is_error. Every string is escaped; a line that is not JSON is shown
// as it is, escaped.
func renderStream(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, renderEvent(l)...)
	}
	return out
}

func renderEvent(line string) []string {
	var ev streamEvent
	if strings.TrimSpace(line) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Type == "" {
		return []string{"  " + escape(firstLine(line))}
	}
	switch ev.Type {
	case "system":
		t := "· " + escape(ev.Subtype)
		if ev.Model != "" {
			t += " (model " + escape(ev.Model) + ")"
		}
		return []string{t}
	case "assistant", "user":
		return renderContent(ev.Type, ev.Message.Content)
	case "result":
		word := "✓ result: " + escape(orNone(ev.Subtype))
		if ev.IsError {
			word = "✗ result: " + escape(orNone(ev.Subtype)) + ", is_error true"
		}
		if ev.NumTurns > 0 {
			word += fmt.Sprintf(", %d turn%s", ev.NumTurns, plural(ev.NumTurns))
		}
		if ev.Cost != nil {
			word += fmt.Sprintf(", $%.2f", *ev.Cost)
		}
		out := []string{word}
		if ev.Result != "" {
			out = append(out, "  "+escape(firstLine(ev.Result)))
		}
		return out
	}
	return []string{"· " + escape(ev.Type)}
}

// renderContent renders a message's content: a plain string, or blocks of
// text, tool calls and tool results.
func renderContent(who string, raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if who == "user" {
			return []string{"› " + escape(firstLine(s))}
		}
		return []string{"● " + escape(firstLine(s))}
	}
	var blocks []contentBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	var out []string
	for _, b := range blocks {
		switch b.Type {
		case "text":
			if strings.TrimSpace(b.Text) == "" {
				continue
			}
			mark := "● "
			if who == "user" {
				mark = "› "
			}
			out = append(out, mark+escape(firstLine(b.Text)))
		case "tool_use":
			out = append(out, "→ "+escape(b.Name)+"("+escape(toolArgument(b.Input))+")")
		case "tool_result":
			mark := "  ← "
			if b.IsError {
				mark = "  ✗ "
			}
			out = append(out, mark+escape(firstLine(resultText(b.Content))))
		case "thinking":
			out = append(out, "  (thinking)")
		}
	}
	return out
}

// toolArgument is the argument of a tool call that says what it does: a
// command, a path, a pattern, a description; else the input as JSON.
func toolArgument(raw json.RawMessage) string {
	var in map[string]json.RawMessage
	if json.Unmarshal(raw, &in) != nil {
		return firstLine(string(raw))
	}
	for _, k := range []string{"command", "file_path", "path", "pattern", "url", "description", "prompt"} {
		var s string
		if v, ok := in[k]; ok && json.Unmarshal(v, &s) == nil {
			return firstLine(s)
		}
	}
	return firstLine(string(raw))
}

// resultText is a tool result's content: a string, or text blocks.
func resultText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []contentBlock
	if json.Unmarshal(raw, &blocks) == nil {
		for _, b := range blocks {
			if b.Text != "" {
				return b.Text
			}
		}
	}
	return ""
}

// firstLine is the first non-empty line of s, marked when more follow.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i]) + " …"
	}
	return s
}
