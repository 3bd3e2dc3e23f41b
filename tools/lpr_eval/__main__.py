import argparse
from pathlib import Path

from tools.lpr_eval import EVAL_SEED, write_eval_set

parser = argparse.ArgumentParser(description="Write the independent LPR evaluation set.")
parser.add_argument("--out", type=Path, required=True)
parser.add_argument("-n", type=int, default=300)
parser.add_argument("--seed", type=int, default=EVAL_SEED)
args = parser.parse_args()
print(f"wrote {write_eval_set(args.out, args.n, args.seed)}")
