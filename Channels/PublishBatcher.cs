using System.Threading.Channels;
using StackExchange.Redis;

namespace AiStreaming.Channels;

/// <summary>
/// Sends script calls of all channels in pipelined batches: the first call waits up to a window for others, then all
/// that arrived go out through one <see cref="IBatch"/> (one socket write; Redis reads them with one read and answers
/// with one write, and publishes reach each streamer in one write). Order is kept: calls are sent in the order they
/// were queued, on one connection. Each call is still its own atomic script; a failure fails only its caller.
/// </summary>
/// <param name="redis">Redis connection.</param>
/// <param name="window">How long the first call of a batch waits for others (zero: no wait).</param>
internal sealed class PublishBatcher(IConnectionMultiplexer redis, TimeSpan window)
{
    private readonly Channel<Call> _queue = Channel.CreateUnbounded<Call>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<Call> _batch = [];
    private int _started;

    /// <summary>Queues a script call; the task completes with Redis's answer (or its error).</summary>
    /// <param name="script">Lua script (sent as EVALSHA once loaded).</param>
    /// <param name="keys">KEYS.</param>
    /// <param name="args">ARGV.</param>
    public Task<RedisResult> EvaluateAsync(string script, RedisKey[] keys, RedisValue[] args)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            // Not under the first caller's span: the Redis instrumentation would file every command this loop ever sends
            // under that one span (a span per publish in a stale trace). Without a parent, commands are not traced.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(RunAsync);
            }
        }
        var call = new Call(script, keys, args);
        _queue.Writer.TryWrite(call);
        return call.Task;
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (window > TimeSpan.Zero)
            {
                await Task.Delay(window).ConfigureAwait(false);
            }
            while (reader.TryRead(out var call))
            {
                _batch.Add(call);
            }
            try
            {
                var batch = redis.GetDatabase().CreateBatch();
                foreach (var call in _batch)
                {
                    _ = batch.ScriptEvaluateAsync(call.Script, call.Keys, call.Args)
                        .ContinueWith(static (t, state) => ((Call)state!).Complete(t), call, CancellationToken.None,
                            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                batch.Execute();
            }
            catch (Exception ex)
            {
                foreach (var call in _batch)
                {
                    call.TrySetException(ex);
                }
            }
            _batch.Clear();
        }
    }

    private sealed class Call(string script, RedisKey[] keys, RedisValue[] args) : TaskCompletionSource<RedisResult>
    {
        public string Script { get; } = script;
        public RedisKey[] Keys { get; } = keys;
        public RedisValue[] Args { get; } = args;

        public void Complete(Task<RedisResult> task)
        {
            if (task.IsCompletedSuccessfully)
            {
                TrySetResult(task.Result);
            }
            else if (task.Exception is { } error)
            {
                TrySetException(error.InnerExceptions);
            }
            else
            {
                TrySetCanceled();
            }
        }
    }
}
