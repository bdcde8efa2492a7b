"""`oracle`: the upper bound — the exact inverse of the damage, from the degradation's ground truth."""

from harness.candidates.base import Candidate, Prediction
from harness.tasks.base import Example, Query


class Oracle(Candidate):
    name = "oracle"
    kind = "bound"
    needs_ground_truth = True
    description = "upper bound: the known inverse of the damage (exact for eq and compressor)"

    def predict(self, query: Query) -> Prediction:
        raise RuntimeError("the oracle needs the example's ground truth; call predict_example")

    def predict_example(self, example: Example) -> Prediction:
        return Prediction(params=example.oracle)
