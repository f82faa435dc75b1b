// Unit tests share no server, port, file or clock (time-dependent code runs on FakeTimeProvider): test classes run in
// parallel. The one process they start, the Bicep CLI, runs in its own non-parallel collection (Deploy/BicepCollection.cs).
[assembly: CollectionBehavior(DisableTestParallelization = false)]
