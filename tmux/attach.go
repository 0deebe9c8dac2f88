package tmux

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// SwitchClient moves the client that shows pane (a pane id, "%3") to the
// session named exactly name. It asks which client shows the pane with
// `tmux display-message -p -t PANE '#{client_tty}'`, then runs
// `tmux switch-client -c TTY -t =NAME`.
func (c *Client) SwitchClient(ctx context.Context, pane, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	out, err := c.run(ctx, "display-message", "-p", "-t", pane, "#{client_tty}")
	if err != nil {
		return fmt.Errorf("tmux display-message: %w", err)
	}
	tty := strings.TrimSpace(out)
	if tty == "" {
		return fmt.Errorf("tmux switch-client: no client shows pane %s", pane)
	}
	if _, err := c.run(ctx, "switch-client", "-c", tty, "-t", "="+name); err != nil {
		return fmt.Errorf("tmux switch-client: %w", err)
	}
	return nil
}

// AttachCommand returns, unstarted, `tmux attach-session -t =NAME` on the
// client's server, for a program that hands the terminal to it and takes
// it back when the operator detaches. TMUX is removed from its
// environment, so that it attaches from inside another tmux too.
func (c *Client) AttachCommand(name string) *exec.Cmd {
	bin := c.Bin
	if bin == "" {
		bin = "tmux"
	}
	argv := append(append([]string(nil), c.Socket.Args()...), "attach-session", "-t", "="+name)
	cmd := exec.Command(bin, argv...)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TMUX=") || strings.HasPrefix(kv, "TMUX_PANE=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	return cmd
}

// SetBuffer puts text into the server's paste buffer, with
// `tmux set-buffer -- TEXT`: inside tmux, a copied id is then one
// prefix-] away.
func (c *Client) SetBuffer(ctx context.Context, text string) error {
	if _, err := c.run(ctx, "set-buffer", "--", text); err != nil {
		return fmt.Errorf("tmux set-buffer: %w", err)
	}
	return nil
}
