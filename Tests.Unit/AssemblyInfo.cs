// Some unit tests measure pacing (the simulated model's tokens per second) and the Deploy tests run the Bicep CLI: on a
// 2-core machine shared with other work, run collections one at a time so the timings hold.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
