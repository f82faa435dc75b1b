// dotnet run -c Release --project Bench -- <scenario> [options]; see docs/BENCHMARKS.md and `-- --help`.
return await AiStreaming.Bench.BenchProgram.RunAsync(args);
