#!/usr/bin/env bash
# bench/run.sh — agentwatch's performance, measured on a scale scene.
#
# Builds agentwatch and the bench tools, starts the scale scene (bench/scale:
# 200 live agent sessions on a private tmux server, registries of 10,000+
# agents, 1,000 extra processes), and measures side by side in one run, with
# medians over alternating repeated runs:
#   a. `agentwatch check --json`, whole process, against the shell pipeline
#      ps + tmux list-panes + cat of the registries        target <= 1.0x
#   b. a steady-state engine scan against a first scan     target <= 0.5x
#   c. the TUI's idle CPU at --interval 1s against htop -d 10, over one
#      window, both in panes of a private tmux server     target <= 1.0x
#   d. pyjson.Parse + pyjson.Encode of the 10,000-agent task registry
#                                                           target <= 50 ms
#   e. the exclusive lock a repair of that registry holds  target <= 20 ms
#   f. max RSS of `agentwatch check` on the scene           target <= 60 MB
#   g. the same check on the SQLite-era copy of the scene (bench/scale
#      -era sqlite: the same agents as rows of state.sqlite3) against ps +
#      tmux list-panes + sqlite3 -readonly DB 'select * from agents'
#                                                           target <= 1.0x
#   h. max RSS of that check                                target <= 60 MB
#   i. a big task registry (--big-agents, ~200 MB): max RSS of check
#                                                           target <= 150 MB
#   j. beside that check, a flock'd python writer's longest wait for the
#      registry's lock, against python's read of it under LOCK_SH
#                                                           target <= the read
#   k. max RSS of `repair --yes` of a drifted counter of the big registry
#                                    target <= 150 MB + the registry's size
# prints a table and writes bench/RESULTS.md. Not run by CI. The SQLite era
# needs Debian's sqlite3 CLI: it is installed with apt-get when missing,
# and g and h are left out, saying why, when it cannot be.
#
# Usage: bench/run.sh [--quick] [--runs N] [--window SECONDS] [--out FILE]
#                     [--notes FILE] [--label TEXT] [--big-agents N]
#   --quick    3 runs of each, a 10 s CPU window: for trying the script
#   --runs N   runs of each side (default 15; quick 3)
#   --window S the CPU window in seconds (default 60; quick 10)
#   --out FILE where the report goes (default bench/RESULTS.md)
#   --notes F  a markdown file appended to the report (profiles, causes)
#   --label T  what tree was measured, for the report's heading
#   --keep DIR keep the raw results (JSON) in DIR, for `probe report` later
#   --agentwatch BIN  measure this agentwatch binary rather than one built
#              from the tree (an older build, for a before-and-after)
#   --big-agents N  agents of the big registry of i-k (default 84000: ~200 MB;
#              0 leaves i-k out)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
runs=15
window=60
quick=0
out="$here/RESULTS.md"
notes=""
label=""
keep=""
big_agents=84000
aw_bin=""
while (($#)); do
	case $1 in
	--quick) quick=1 runs=3 window=10 ;;
	--runs) runs=$2; shift ;;
	--window) window=$2; shift ;;
	--out) out=$2; shift ;;
	--notes) notes=$2; shift ;;
	--label) label=$2; shift ;;
	--keep) keep=$2; shift ;;
	--big-agents) big_agents=$2; shift ;;
	--agentwatch) aw_bin=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $out in /*) ;; *) out="$PWD/$out" ;; esac
if [[ -n $notes ]]; then case $notes in /*) ;; *) notes="$PWD/$notes" ;; esac; fi

work=$(mktemp -d /tmp/aw-bench-XXXXXX)
results="$work/results"
mkdir -p "$results"
scale_pid=""
AW_DIR="" AW_SOCK="" AW_SLEEP_PGID=""
tui_sock="$work/tui.sock"

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# stop_scene: the scene by its PID (it tears down its own tmux server,
# sleeps and fake claudes); if the scene does not go, its tmux server by
# socket and its sleeps by process group.
stop_scene() {
	local -
	set +e
	if [[ -n $scale_pid ]] && kill -0 "$scale_pid" 2>/dev/null; then
		log "tearing down the scene (PID $scale_pid)"
		kill -TERM "$scale_pid"
		for _ in $(seq 600); do
			kill -0 "$scale_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$scale_pid" 2>/dev/null; then
			log "the scene did not end: SIGKILL"
			kill -KILL "$scale_pid" 2>/dev/null
		fi
		wait "$scale_pid" 2>/dev/null
		[[ -s $work/scale.err ]] && sed 's/^/  scale: /' "$work/scale.err" | tail -5 >&2
	fi
	if [[ -n $AW_SOCK && -S $AW_SOCK ]]; then
		tmux -S "$AW_SOCK" kill-server 2>/dev/null
	fi
	if [[ -n $AW_SLEEP_PGID ]] && ps -eo pgid=,comm= | awk -v g="$AW_SLEEP_PGID" '$1 == g && $2 == "sleep" {f = 1} END {exit !f}'; then
		kill -KILL -- "-$AW_SLEEP_PGID" 2>/dev/null
	fi
	if [[ -n $AW_DIR ]]; then
		local left
		left=$(grep -lsFf <(echo "$AW_DIR") /proc/[0-9]*/cmdline 2>/dev/null | wc -l)
		((left == 0)) || log "warning: $left processes naming $AW_DIR are left"
		rm -rf "$AW_DIR"
	fi
	scale_pid="" AW_DIR="" AW_SOCK="" AW_SLEEP_PGID=""
}

# teardown: the TUI's tmux server by socket, then the scene.
teardown() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [[ -S $tui_sock ]]; then
		tmux -S "$tui_sock" kill-server 2>/dev/null
	fi
	stop_scene
	if [[ -n $keep && -d $results ]]; then
		mkdir -p "$keep" && cp -r "$results"/. "$keep"/
	fi
	rm -rf "$work"
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building agentwatch and the bench tools ($root)"
(cd "$root" && CGO_ENABLED=0 go build -o "$work/agentwatch" . && go build -o "$work/scale" ./bench/scale && go build -o "$work/probe" ./bench/probe)
aw="$work/agentwatch"
[[ -z $aw_bin ]] || aw=$aw_bin
probe="$work/probe"

if ! command -v htop >/dev/null; then
	log "installing htop"
	apt-get install -y htop >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y htop >/dev/null; }
fi

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "uname: $(uname -srmo)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
	echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB total, " $7 " MiB available"}')"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "go: $(go version | cut -d' ' -f3-)"
	echo "tmux: $(tmux -V)"
	echo "htop: $(htop --version | head -1)"
	echo "tree: ${label:-$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)}"
	echo "mode: $([[ $quick == 1 ]] && echo quick || echo full), $runs runs per side, CPU window ${window}s"
	# What a system call and a page's first touch cost here: on a
	# paravirtualised guest they weigh more than instructions.
	echo "costs: $("$probe" costs -n 5)"
} >"$results/machine.txt"

# start_scene ARGS...: bench/scale with ARGS, until it is READY; its
# AW_* variables and flags are set.
start_scene() {
	log "starting the scale scene $*"
	"$work/scale" -agentwatch "$aw" "$@" >"$work/scale.out" 2>"$work/scale.err" &
	scale_pid=$!
	for _ in $(seq 3000); do
		grep -qx READY "$work/scale.out" && break
		if ! kill -0 "$scale_pid" 2>/dev/null; then
			cat "$work/scale.err" >&2
			echo "run.sh: the scale scene failed" >&2
			exit 1
		fi
		sleep 0.1
	done
	grep -qx READY "$work/scale.out" || { echo "run.sh: the scale scene did not come up in 300 s" >&2; exit 1; }
	eval "$(grep '^AW_[A-Z_]*=' "$work/scale.out")"
	read -r -a flags <<<"$AW_FLAGS"
}

start_scene -era json
log "scene: $AW_DIR ($(ls /proc | grep -c '^[0-9]') processes on the machine)"
echo "processes: $(ls /proc | grep -c '^[0-9]') on the machine during the run" >>"$results/machine.txt"
# agentwatch's own state (backups, audit log) stays out of the operator's.
export XDG_STATE_HOME="$work/state"
mkdir -p "$XDG_STATE_HOME"

# The scene must be healthy, or a check spends its ghost settle.
set +e
"$aw" check --json "${flags[@]}" >"$results/check-sample.json" 2>"$work/check.err"
rc=$?
set -e
if ((rc > 1)); then
	cat "$work/check.err" >&2
	echo "run.sh: agentwatch check failed (exit $rc); every measurement but the TUI's needs it" >&2
	exit 1
fi
jq -c '{healthy, summary, agents: (.agents|length), sessions: (.sessions|length), processes: (.processes|length)}' \
	"$results/check-sample.json" >"$results/health.json"
log "check: $(cat "$results/health.json")"

fields='#{pid}	#{session_id}	#{session_created}	#{session_attached}	#{pane_id}	#{pane_pid}	#{pane_dead}	#{pane_current_command}	#{session_name}'
q() { printf '%q' "$1"; }
check_cmd="$(q "$aw") check --json $(printf '%q ' "${flags[@]}")>/dev/null"
pipe_cmd="ps -ww -eo pid=,ppid=,lstart=,args= >/dev/null; tmux -S $(q "$AW_SOCK") list-panes -a -F $(q "$fields") >/dev/null; cat $AW_REGISTRIES >/dev/null"

log "a+f. check --json against ps | tmux list-panes | cat, $runs runs each"
"$probe" cmp -n "$runs" -a "$check_cmd" -b "$pipe_cmd" >"$results/cmp.json"

log "b. steady-state scan against a first scan, $runs runs each"
"$probe" scan -n "$runs" "${flags[@]}" >"$results/scan.json"

log "d. decode + encode of the big task registry, $runs runs"
"$probe" codec -n "$runs" -file "$AW_BIG" >"$results/codec.json"

log "c. the TUI's idle CPU against htop over ${window}s"
if "$aw" watch --help >/dev/null 2>&1; then
	tui_line="exec env TERM=xterm-256color XDG_STATE_HOME=$(q "$XDG_STATE_HOME") $(q "$aw") watch --interval 1s $(printf '%q ' "${flags[@]}")"
	tmux -S "$tui_sock" -f /dev/null new-session -d -s tui -x 200 -y 50 "$tui_line"
	tmux -S "$tui_sock" new-session -d -s htop -x 200 -y 50 "exec env TERM=xterm-256color htop -d 10"
	sleep 5 # the TUI's first scan, htop's first screen
	tui_pid=$(tmux -S "$tui_sock" display-message -p -t '=tui:' '#{pane_pid}')
	htop_pid=$(tmux -S "$tui_sock" display-message -p -t '=htop:' '#{pane_pid}')
	if kill -0 "$tui_pid" 2>/dev/null && kill -0 "$htop_pid" 2>/dev/null; then
		"$probe" cpu -window "${window}s" "$tui_pid" "$htop_pid" >"$results/cpu.json"
		tmux -S "$tui_sock" capture-pane -p -t '=tui:' | head -6 >"$results/tui-screen.txt"
	else
		tmux -S "$tui_sock" capture-pane -p -t '=tui:' 2>/dev/null | head -20 >&2 || true
		echo "not measured: the TUI or htop exited before the window" >"$results/cpu.skip"
	fi
	tmux -S "$tui_sock" kill-server 2>/dev/null || true
else
	echo "not measured: no TUI yet (agentwatch watch does not exist in this build)" >"$results/cpu.skip"
fi

log "e. lock held by a repair of the big task registry, $runs runs"
"$probe" lock -n "$runs" -file "$AW_BIG" "${flags[@]}" >"$results/lock.json"
# The same repair through the command line, once: it must apply.
"$probe" drift -file "$AW_BIG" >/dev/null
start=$(date +%s%N)
set +e
"$aw" repair --yes --json "${flags[@]}" >"$results/cli-repair.json" 2>"$work/repair.err"
rc=$?
set -e
echo "{\"exit\": $rc, \"ms\": $((($(date +%s%N) - start) / 1000000)), \"applied\": $(jq '.applied|length' "$results/cli-repair.json" 2>/dev/null || echo null)}" >"$results/cli-repair-summary.json"

stop_scene

# Keypress to frame: the TUI's Update of one key and the View after it, on a
# screen of 10,000 agents (ui's BenchmarkKeypress, from this tree).
log "l. keypress to frame with 10,000 agents"
(cd "$root" && go test -run '^$' -bench Keypress -benchtime 50x -count 3 ./ui/) >"$work/keypress.txt"
awk '/^BenchmarkKeypress\// { name = $1; sub(/^BenchmarkKeypress\//, "", name); sub(/-[0-9]+$/, "", name);
	ms = $3 / 1e6; if (!(name in best) || ms < best[name]) best[name] = ms }
	END { printf "{"; sep = ""; for (n in best) { printf "%s\"%s\": %.2f", sep, n, best[n]; sep = ", " } printf "}\n" }' \
	"$work/keypress.txt" >"$results/keypress.json"

# The SQLite era: the same agents as rows of state.sqlite3.
if ! command -v sqlite3 >/dev/null; then
	log "installing Debian's sqlite3 CLI"
	apt-get install -y sqlite3 >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y sqlite3 >/dev/null 2>&1; } || true
fi
if command -v sqlite3 >/dev/null; then
	start_scene -era sqlite
	set +e
	"$aw" check --json "${flags[@]}" >"$results/check-sample-sqlite.json" 2>"$work/check.err"
	rc=$?
	set -e
	((rc <= 1)) || { cat "$work/check.err" >&2; echo "run.sh: agentwatch check failed on the SQLite era (exit $rc)" >&2; exit 1; }
	jq -c '{healthy, summary, era: [.workspaces[].era], agents: (.agents|length), sessions: (.sessions|length), processes: (.processes|length)}' \
		"$results/check-sample-sqlite.json" >"$results/health-sqlite.json"
	log "check (SQLite era): $(cat "$results/health-sqlite.json")"
	check_cmd="$(q "$aw") check --json $(printf '%q ' "${flags[@]}")>/dev/null"
	pipe_cmd="ps -ww -eo pid=,ppid=,lstart=,args= >/dev/null; tmux -S $(q "$AW_SOCK") list-panes -a -F $(q "$fields") >/dev/null; sqlite3 -readonly $(q "$AW_DB") 'select * from agents' >/dev/null"
	log "g+h. check --json (SQLite era) against ps | tmux list-panes | sqlite3 -readonly, $runs runs each"
	"$probe" cmp -n "$runs" -a "$check_cmd" -b "$pipe_cmd" >"$results/cmp-sqlite.json"
	sqlite3 --version | cut -d' ' -f1 >"$results/sqlite3-version.txt"
	stop_scene
else
	log "sqlite3 is absent and could not be installed: g and h are not measured"
	echo "not measured: Debian's sqlite3 CLI is absent and apt-get could not install it" >"$results/cmp-sqlite.skip"
fi

# A big task registry: ~200 MB, one live agent.
if ((big_agents > 0)); then
	start_scene -era json -agents "$big_agents" -live 1 -extra 0 -small-tasks 0
	log "big registry: $(du -m "$AW_BIG" | cut -f1) MB, $big_agents agents"
	check_cmd="$(q "$aw") check --json $(printf '%q ' "${flags[@]}")>/dev/null"
	big_runs=$((runs < 5 ? runs : 5))
	log "i+j. check of the big registry beside a flock'd python writer, $big_runs runs"
	"$probe" writer -n "$big_runs" -file "$AW_BIG" -a "$check_cmd" >"$results/big-check.json"
	log "k. repair --yes of a drifted counter of the big registry, once"
	"$probe" drift -file "$AW_BIG" >/dev/null
	set +e
	/usr/bin/time -f '%M %e' -o "$work/big-repair.time" "$aw" repair --yes --json "${flags[@]}" >"$results/big-repair.json" 2>"$work/repair.err"
	rc=$?
	set -e
	read -r kb secs <"$work/big-repair.time"
	echo "{\"exit\": $rc, \"maxrss_mb\": $((kb / 1024)), \"s\": $secs, \"applied\": $(jq '.applied|length' "$results/big-repair.json" 2>/dev/null || echo null)}" >"$results/big-repair-summary.json"
	stop_scene
fi

"$probe" report -dir "$results" -out "$out" ${notes:+-notes "$notes"}
log "wrote $out"
