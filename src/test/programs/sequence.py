"""sequence.py ROUNDS: primes from a generator, with running tallies in dicts, one line per
prime, flushed as it goes and paced so that a checkpoint lands mid-run. Its output depends on
nothing but ROUNDS (RealProgramsTest compares it with a run without a checkpoint)."""
import sys
import time


def primes():
    found = []
    n = 2
    while True:
        if all(n % p for p in found if p * p <= n):
            found.append(n)
            yield n
        n += 1


def main(rounds):
    last_digits = {}
    gaps = {}
    previous = None
    for i, p in zip(range(rounds), primes()):
        last_digits[p % 10] = last_digits.get(p % 10, 0) + 1
        if previous is not None:
            gaps[p - previous] = gaps.get(p - previous, 0) + 1
        previous = p
        commonest = max(gaps.items(), key=lambda kv: (kv[1], -kv[0])) if gaps else None
        print(i, p, sorted(last_digits.items()), commonest, flush=True)
        time.sleep(0.01)
    print("gaps", sorted(gaps.items()), flush=True)


main(int(sys.argv[1]))
