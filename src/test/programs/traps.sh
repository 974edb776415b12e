#!/bin/bash
# traps.sh ROUNDS: traps on USR1 and EXIT, a subshell pipeline per round, and every fifth round
# a background job that signals the shell while it waits for the job. Its output depends on
# nothing but ROUNDS: the job signals before it exits, and the shell prints only once the wait
# is over (the trap first, since a trapped signal ends the wait).
rounds=$1
usr1=0
round=0
trap 'usr1=$((usr1 + 1)); echo "trap USR1 $usr1 in round $round"' USR1
trap 'echo "trap EXIT at round $round, $usr1 USR1"' EXIT
total=0
for ((round = 1; round <= rounds; round++)); do
  sum=$( (for ((i = 1; i <= round; i++)); do echo $((i * i)); done) | { s=0; while read -r v; do s=$((s + v)); done; echo $s; })
  total=$((total + sum))
  echo "round $round squares $sum total $total"
  if ((round % 5 == 0)); then
    (sleep 0.05; kill -USR1 $$) &
    job=$!
    # A trapped signal ends wait with 128+10 while the job may still run: wait again for it.
    while wait $job; status=$?; ((status > 128)) && kill -0 $job 2>/dev/null; do :; done
    echo "job of round $round done"
  fi
  sleep 0.04
done
