package statedb

import (
	"context"
	"database/sql"
)

// AgentsBothWays reads the agents of the database at path both ways
// readAgents can: as json_array texts sorted in Go (ok is false when
// readAgents would not take them: agentsShape or that read refused the
// table), and column by column in SQLite's order.
func AgentsBothWays(ctx context.Context, path string) (quick []Agent, ok bool, columnwise []Agent, err error) {
	err = readOnly(ctx, path, ReadOptions{}, func(conn *sql.Conn) error {
		cols, err := columns(ctx, conn, agentsTable.name)
		if err != nil {
			return err
		}
		sh, err := agentsShape(ctx, conn)
		if err != nil {
			return err
		}
		var q, c State
		if ok = sh.quick() && q.readAgentsJSON(ctx, conn, cols); ok {
			sortAgents(q.Agents)
		}
		quick = q.Agents
		err = c.readAgentsColumns(ctx, conn, cols)
		columnwise = c.Agents
		return err
	})
	return quick, ok, columnwise, err
}
