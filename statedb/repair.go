package statedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultLockTimeout is how long Apply and Undo wait for the write lock when
// they are given no timeout: --lock-timeout's default.
const DefaultLockTimeout = 10 * time.Second

// lockRetry is the pause between two BEGIN IMMEDIATE attempts that SQLite
// gave up on before the lock timeout had passed.
const lockRetry = 5 * time.Millisecond

// Repair is a ghost repair of one agent row.
type Repair struct {
	AgentID, TaskID string
	// From is the active status the caller saw; the UPDATE is guarded by it.
	From string
	// To is "failed" or "completed".
	To string
	// Now is the timestamp to write, already formatted the orchestrator's way
	// (naive local ISO with microseconds, 2026-12-05T17:32:35.277469).
	Now string
	// Message is written to the agent's agent_progress_latest row, when it
	// has one (none is ever inserted).
	Message string
}

// Image is an agent's row, and its agent_progress_latest row, as they were
// before a repair or as the repair left them: what undo needs.
type Image struct {
	AgentID, TaskID string
	// Status, LastUpdate and CompletedAt are the agents row's columns;
	// LastUpdateNull and CompletedAtNull say which of them were NULL.
	Status, LastUpdate, CompletedAt string
	LastUpdateNull, CompletedAtNull bool
	// Progress is agents.progress (never written by a repair).
	Progress int
	// HasProgressRow: the agent had an agent_progress_latest row; then the
	// Progress* fields are its values, and the *Null fields say which of
	// them were NULL.
	HasProgressRow                                                 bool
	ProgressStatus, ProgressTimestamp, ProgressMessage             string
	ProgressStatusNull, ProgressTimestampNull, ProgressMessageNull bool
	ProgressValue                                                  int
}

// Apply makes one ghost repair in one short BEGIN IMMEDIATE transaction on a
// read-write connection (the file is never created): it reads the row's
// before-image, sets the agents row's status to r.To, completed_at (kept
// when set) and last_update to r.Now where the row's status is still
// r.From, and, when the agent has an agent_progress_latest row, sets that
// row's status, timestamp and message. Nothing else is written.
//
// A row that is gone, or whose status is no longer r.From, is ErrChanged and
// nothing is written. A write lock held by another connection for longer
// than lockTimeout (0 means DefaultLockTimeout) is ErrBusy.
func Apply(ctx context.Context, path string, r Repair, lockTimeout time.Duration) (before, after Image, err error) {
	if err := r.validate(); err != nil {
		return Image{}, Image{}, fmt.Errorf("apply repair: %w", err)
	}
	err = writeTx(ctx, path, lockTimeout, func(conn *sql.Conn) error {
		sch, err := loadSchema(ctx, conn, path)
		if err != nil {
			return err
		}
		before, err = sch.image(ctx, conn, r.AgentID, r.TaskID)
		if err != nil {
			return err
		}
		if before.Status != r.From {
			return fmt.Errorf("agent %q of task %q: status is now %q, not %q: %w; nothing written, scan again",
				r.AgentID, r.TaskID, before.Status, r.From, ErrChanged)
		}
		res, err := conn.ExecContext(ctx,
			`UPDATE agents SET status = ?, completed_at = COALESCE(completed_at, ?), last_update = ?
			 WHERE agent_id = ? AND task_id = ? AND status = ?`,
			r.To, r.Now, r.Now, r.AgentID, r.TaskID, r.From)
		if err := oneRow(res, err, "agents"); err != nil {
			return err
		}
		if before.HasProgressRow {
			res, err := conn.ExecContext(ctx,
				`UPDATE agent_progress_latest SET status = ?, timestamp = ?, message = ?
				 WHERE task_id = ? AND agent_id = ?`,
				r.To, r.Now, r.Message, r.TaskID, r.AgentID)
			if err := oneRow(res, err, "agent_progress_latest"); err != nil {
				return err
			}
		}
		after, err = sch.image(ctx, conn, r.AgentID, r.TaskID)
		return err
	})
	if err != nil {
		return Image{}, Image{}, fmt.Errorf("apply repair to agent %q: %w", r.AgentID, err)
	}
	return before, after, nil
}

// Undo puts an agent's row, and its agent_progress_latest row, back as
// before says, each only where it still holds what after says the repair
// wrote: a row the orchestrator changed since is left as it is, and why
// says what it holds now. restored is true when the agents row was put back.
// It runs in one BEGIN IMMEDIATE transaction, with Apply's lock rules.
func Undo(ctx context.Context, path string, before, after Image, lockTimeout time.Duration) (restored bool, why string, err error) {
	if before.AgentID == "" || before.AgentID != after.AgentID || before.TaskID != after.TaskID {
		return false, "", fmt.Errorf("undo repair: the images name different rows (%q of %q, %q of %q)",
			before.AgentID, before.TaskID, after.AgentID, after.TaskID)
	}
	err = writeTx(ctx, path, lockTimeout, func(conn *sql.Conn) error {
		sch, err := loadSchema(ctx, conn, path)
		if err != nil {
			return err
		}
		var whys []string
		res, err := conn.ExecContext(ctx,
			`UPDATE agents SET status = ?, completed_at = ?, last_update = ?
			 WHERE agent_id = ? AND task_id = ? AND status IS ? AND last_update IS ? AND completed_at IS ?`,
			before.Status, nullable(before.CompletedAt, before.CompletedAtNull), nullable(before.LastUpdate, before.LastUpdateNull),
			before.AgentID, before.TaskID,
			after.Status, nullable(after.LastUpdate, after.LastUpdateNull), nullable(after.CompletedAt, after.CompletedAtNull))
		n, err := affected(res, err)
		switch {
		case err != nil:
			return err
		case n == 1:
			restored = true
		case n > 1:
			return fmt.Errorf("the agents row of %q is not unique (%d rows)", before.AgentID, n)
		default:
			now, err := sch.image(ctx, conn, before.AgentID, before.TaskID)
			if errors.Is(err, ErrChanged) {
				whys = append(whys, "the agents row is gone")
			} else if err != nil {
				return err
			} else {
				whys = append(whys, fmt.Sprintf("agents row not restored: status is now %q, last_update %s, completed_at %s "+
					"(agentwatch wrote %q, %s, %s): the orchestrator changed it since",
					now.Status, show(now.LastUpdate, now.LastUpdateNull), show(now.CompletedAt, now.CompletedAtNull),
					after.Status, show(after.LastUpdate, after.LastUpdateNull), show(after.CompletedAt, after.CompletedAtNull)))
			}
		}
		if before.HasProgressRow && after.HasProgressRow && sch.progress {
			res, err := conn.ExecContext(ctx,
				`UPDATE agent_progress_latest SET status = ?, timestamp = ?, message = ?
				 WHERE task_id = ? AND agent_id = ? AND status IS ? AND timestamp IS ? AND message IS ?`,
				nullable(before.ProgressStatus, before.ProgressStatusNull),
				nullable(before.ProgressTimestamp, before.ProgressTimestampNull),
				nullable(before.ProgressMessage, before.ProgressMessageNull),
				before.TaskID, before.AgentID,
				nullable(after.ProgressStatus, after.ProgressStatusNull),
				nullable(after.ProgressTimestamp, after.ProgressTimestampNull),
				nullable(after.ProgressMessage, after.ProgressMessageNull))
			n, err := affected(res, err)
			if err != nil {
				return err
			}
			if n == 0 {
				now, err := sch.progressImage(ctx, conn, before.AgentID, before.TaskID)
				switch {
				case err != nil:
					return err
				case !now.HasProgressRow:
					whys = append(whys, "the agent_progress_latest row is gone")
				default:
					whys = append(whys, fmt.Sprintf("agent_progress_latest row not restored: status is now %q, timestamp %s "+
						"(agentwatch wrote %q, %s): the orchestrator changed it since",
						now.ProgressStatus, show(now.ProgressTimestamp, now.ProgressTimestampNull),
						after.ProgressStatus, show(after.ProgressTimestamp, after.ProgressTimestampNull)))
				}
			}
		}
		why = strings.Join(whys, "; ")
		return nil
	})
	if err != nil {
		return false, "", fmt.Errorf("undo repair of agent %q: %w", before.AgentID, err)
	}
	return restored, why, nil
}

// validate checks that r names a row and a status a ghost repair writes.
func (r Repair) validate() error {
	switch {
	case r.AgentID == "" || r.TaskID == "":
		return errors.New("a repair needs an agent id and a task id")
	case r.From == "":
		return errors.New("a repair needs the status the caller saw (From)")
	case r.To != "failed" && r.To != "completed":
		return fmt.Errorf("a ghost repair writes status failed or completed, not %q", r.To)
	case r.Now == "":
		return errors.New("a repair needs the timestamp to write (Now)")
	}
	return nil
}

// writeTx opens path read-write and runs fn in one BEGIN IMMEDIATE
// transaction, committed when fn succeeds and rolled back otherwise. A lock
// SQLite gave up on is tried again until lockTimeout has passed.
func writeTx(ctx context.Context, path string, lockTimeout time.Duration, fn func(*sql.Conn) error) (err error) {
	if lockTimeout <= 0 {
		lockTimeout = DefaultLockTimeout
	}
	start := time.Now()
	deadline := start.Add(lockTimeout)
	s, err := open(ctx, path, "rw", lockTimeout)
	if err != nil {
		return classify(path, err, time.Since(start), writeBusyHint)
	}
	defer func() {
		if cerr := s.close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	for {
		_, err := s.conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		if err == nil {
			break
		}
		left := time.Until(deadline)
		if !isBusy(err) || left <= 0 {
			return classify(path, err, time.Since(start), writeBusyHint)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(lockRetry, left)):
		}
		if _, err := s.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", max(time.Until(deadline).Milliseconds(), 1))); err != nil {
			return err
		}
	}
	if err := fn(s.conn); err != nil {
		s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return classify(path, err, time.Since(start), writeBusyHint)
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return classify(path, err, time.Since(start), writeBusyHint)
	}
	return nil
}

// schema is what a repair needs to know of the tables it touches.
type schema struct {
	path string
	// agentsProgress: agents has a progress column.
	agentsProgress bool
	// progress: agent_progress_latest exists with the columns a repair
	// writes.
	progress bool
	// progressValue: agent_progress_latest has a progress column.
	progressValue bool
}

// loadSchema checks that the agents table has every column a repair writes,
// and finds whether there are progress rows to write.
func loadSchema(ctx context.Context, conn *sql.Conn, path string) (*schema, error) {
	cols, err := columns(ctx, conn, "agents")
	if err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, fmt.Errorf("%s has no agents table: %w", path, ErrNoAgentsTable)
	}
	if missing := missingColumns(cols, agentsRequired); len(missing) > 0 {
		return nil, fmt.Errorf("%s: its agents table lacks the column(s) %s: %w", path, strings.Join(missing, ", "), ErrNoAgentsTable)
	}
	if missing := missingColumns(cols, []string{"last_update", "completed_at"}); len(missing) > 0 {
		return nil, fmt.Errorf("%s: its agents table lacks the column(s) %s that a repair writes; nothing written",
			path, strings.Join(missing, ", "))
	}
	sch := &schema{path: path, agentsProgress: cols["progress"]}
	pcols, err := columns(ctx, conn, "agent_progress_latest")
	if err != nil {
		return nil, err
	}
	sch.progress = len(missingColumns(pcols, []string{"task_id", "agent_id", "status", "timestamp", "message"})) == 0
	sch.progressValue = pcols["progress"]
	return sch, nil
}

// image reads an agent's row and its agent_progress_latest row. A missing
// agents row is ErrChanged.
func (sch *schema) image(ctx context.Context, conn *sql.Conn, agentID, taskID string) (Image, error) {
	progress := "NULL"
	if sch.agentsProgress {
		progress = "progress"
	}
	var rows [][]any
	err := scan(ctx, conn,
		`SELECT status, last_update, completed_at, `+progress+` FROM agents WHERE agent_id = ? AND task_id = ?`,
		4, func(v []any) { rows = append(rows, slices.Clone(v)) }, agentID, taskID)
	if err != nil {
		return Image{}, err
	}
	switch len(rows) {
	case 0:
		return Image{}, fmt.Errorf("agent %q of task %q is not in the database: %w; nothing written, scan again",
			agentID, taskID, ErrChanged)
	case 1:
	default:
		return Image{}, fmt.Errorf("agent %q of task %q has %d rows; nothing written", agentID, taskID, len(rows))
	}
	v := rows[0]
	img, err := sch.progressImage(ctx, conn, agentID, taskID)
	if err != nil {
		return Image{}, err
	}
	img.Status = text(v[0])
	img.LastUpdate, img.LastUpdateNull = text(v[1]), v[1] == nil
	img.CompletedAt, img.CompletedAtNull = text(v[2]), v[2] == nil
	img.Progress = integer(v[3])
	return img, nil
}

// progressImage reads an agent's agent_progress_latest row into an Image
// that names the agent; HasProgressRow is false when it has none.
func (sch *schema) progressImage(ctx context.Context, conn *sql.Conn, agentID, taskID string) (Image, error) {
	img := Image{AgentID: agentID, TaskID: taskID}
	if !sch.progress {
		return img, nil
	}
	value := "NULL"
	if sch.progressValue {
		value = "progress"
	}
	n := 0
	err := scan(ctx, conn,
		`SELECT status, timestamp, message, `+value+` FROM agent_progress_latest WHERE task_id = ? AND agent_id = ?`,
		4, func(v []any) {
			n++
			img.HasProgressRow = true
			img.ProgressStatus, img.ProgressStatusNull = text(v[0]), v[0] == nil
			img.ProgressTimestamp, img.ProgressTimestampNull = text(v[1]), v[1] == nil
			img.ProgressMessage, img.ProgressMessageNull = text(v[2]), v[2] == nil
			img.ProgressValue = integer(v[3])
		}, taskID, agentID)
	if err == nil && n > 1 {
		err = fmt.Errorf("agent %q of task %q has %d agent_progress_latest rows; nothing written", agentID, taskID, n)
	}
	return img, err
}

// oneRow checks that an UPDATE changed exactly one row of table; none is
// ErrChanged.
func oneRow(res sql.Result, err error, table string) error {
	n, err := affected(res, err)
	switch {
	case err != nil:
		return err
	case n == 0:
		return fmt.Errorf("the %s row changed under the update: %w; nothing written, scan again", table, ErrChanged)
	case n > 1:
		return fmt.Errorf("the update of %s would change %d rows, not 1; nothing written", table, n)
	}
	return nil
}

// affected is the row count of an Exec's result.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// nullable is s as a statement argument, NULL when null.
func nullable(s string, null bool) any {
	if null {
		return nil
	}
	return s
}

// show renders a column value for a message: quoted, or NULL.
func show(s string, null bool) string {
	if null {
		return "NULL"
	}
	return fmt.Sprintf("%q", s)
}
