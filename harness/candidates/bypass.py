"""`bypass`: the lower bound — the damaged input, untouched. Gap closed is 0 by definition."""

from harness.candidates.base import Candidate, Prediction
from harness.tasks.base import Query


class Bypass(Candidate):
    name = "bypass"
    kind = "bound"
    description = "lower bound: returns the input unchanged"

    def predict(self, query: Query) -> Prediction:
        return Prediction(audio=query.audio)
