#!/bin/bash
# squares.sh JOURNAL_MODE ROWS: writes an SQL session for sqlite3 to standard output, slowly: one
# transaction inserting ROWS rows, with a count every ten rows (sqlite3 prints it), committed
# at the end. Paced so that a checkpoint lands while the transaction is open.
mode=$1 rows=$2
echo "PRAGMA journal_mode=$mode;"
echo "CREATE TABLE squares(n INTEGER PRIMARY KEY, square INTEGER, word TEXT);"
echo "BEGIN;"
for ((i = 1; i <= rows; i++)); do
  echo "INSERT INTO squares VALUES($i, $((i * i)), printf('w%04d', $((i * 7919 % 1000))));"
  if ((i % 10 == 0)); then
    echo "SELECT 'rows', count(*), sum(square) FROM squares;"
  fi
  sleep 0.01
done
echo "COMMIT;"
echo "SELECT 'total', count(*), sum(square), group_concat(word, '') FROM squares;"
