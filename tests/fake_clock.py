"""A scripted clock for the load generator's tests: each query takes a set number of nanoseconds,
so percentiles and validity are known exactly, whatever the machine."""


class FakeClock:
    def __init__(self, durations_ns):
        self.now = 0
        self.durations = list(durations_ns)
        self.i = 0

    def __call__(self):
        return self.now

    def sut(self, _):
        self.now += self.durations[self.i % len(self.durations)]
        self.i += 1
