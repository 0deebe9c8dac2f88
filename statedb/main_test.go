package statedb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"agentwatch/statedb"
)

// The ownership tests re-run this test binary as another user, in the role
// roleEnv names, on the database pathEnv names.
const (
	roleEnv = "STATEDB_TEST_ROLE"
	pathEnv = "STATEDB_TEST_PATH"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Getenv(pathEnv)))
	}
	os.Exit(m.Run())
}

// runRole plays a role in a child process and prints its outcome on one
// line: "agents N", "foreign SUFFIX" or "error MESSAGE".
func runRole(role, path string) int {
	if role != "read" {
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		return 2
	}
	st, err := statedb.Read(context.Background(), path, statedb.ReadOptions{})
	var foreign *statedb.ForeignOwnerError
	switch {
	case errors.As(err, &foreign):
		fmt.Printf("foreign %s\n", foreign.Missing)
	case err != nil:
		fmt.Printf("error %v\n", err)
	default:
		fmt.Printf("agents %d\n", len(st.Agents))
	}
	return 0
}
