// Integration and end-to-end tests start real servers and processes on a 2-core machine: run collections one at a
// time so timing-sensitive scenarios (kill mid-stream) are not starved by another collection's startup.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
