package statedb

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// text renders a column value as the orchestrator stored it; NULL is "".
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return v.Format("2006-01-02T15:04:05.999999999")
	}
	return fmt.Sprint(v)
}

// integer reads a column value as an int; NULL, and text that is no number,
// are 0.
func integer(v any) int {
	switch v := v.(type) {
	case int64:
		return int(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return int(v)
	case string, []byte:
		return textInteger(text(v))
	case bool:
		if v {
			return 1
		}
	}
	return 0
}

// textInteger reads a text value as integer does: a number, surrounding
// spaces allowed, its fraction dropped; 0 when it is none.
func textInteger(s string) int {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return int(f)
	}
	return 0
}
