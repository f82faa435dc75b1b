// Integration tests start real servers and host the Api in memory on a 2-core machine: run collections one at a time
// so timing-sensitive scenarios (timeouts, lease sweeps, Redis outages) are not starved by another collection.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
