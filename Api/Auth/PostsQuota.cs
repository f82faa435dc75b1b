using System.Globalization;
using System.Threading.RateLimiting;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Api.Auth;

/// <summary>
/// The per-user quota of state-changing calls (<see cref="ApiLimitsOptions.PostsPerMinute"/>), counted in Redis so that
/// every Api replica draws from one count: a fixed window per user that opens at the user's first call (key
/// <c>limits:posts:{user}</c>, one <c>INCR</c>, expiring with the window). A refused call is not counted. A call the
/// endpoint rejects as malformed (400, 413, 415: bad JSON, a blank or oversized content, a bad header) is refunded
/// when its response starts, so it costs no quota.
/// </summary>
/// <remarks>
/// Fails open: while Redis cannot answer within <see cref="ApiLimitsOptions.RedisTimeout"/> calls are let through (the
/// outage is logged once, at Warning, and its end at Information). The quota bounds abuse, not correctness, and during a
/// Redis outage the replies cannot stream anyway; the concurrent-replies limit, counted in PostgreSQL, still holds.
/// RedisRateLimiting 1.2.1 was not used: it cannot refund a malformed call and it throws during an outage.
/// </remarks>
internal sealed partial class PostsQuota(
    IConnectionMultiplexer redis, IOptions<ApiLimitsOptions> options, TimeProvider time, ILogger<PostsQuota> logger)
{
    // KEYS[1] the user's window; ARGV[1] limit, ARGV[2] window (ms). Returns { taken (1|0), remaining window (ms) }.
    private const string TakeScript = """
        local n = redis.call('INCR', KEYS[1])
        if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) ttl = tonumber(ARGV[2]) end
        if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return { 0, ttl } end
        return { 1, ttl }
        """;

    // KEYS[1] the user's window: one call fewer, if that window still runs.
    private const string RefundScript = """
        local n = tonumber(redis.call('GET', KEYS[1]) or '0')
        if n > 0 then redis.call('DECR', KEYS[1]) end
        return n
        """;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private int _unavailable;

    /// <summary>The Redis key counting <paramref name="userId"/>'s calls (hash-tagged: one slot in a cluster).</summary>
    public static RedisKey KeyOf(string userId) => $"limits:posts:{{{userId}}}";

    /// <summary>Takes one call from <paramref name="userId"/>'s window.</summary>
    /// <param name="userId">The caller (<c>sub</c>).</param>
    /// <returns>Whether the call may proceed, and when refused how long until the window ends.</returns>
    public async Task<(bool Taken, TimeSpan RetryAfter)> TryTakeAsync(string userId)
    {
        try
        {
            if (!redis.IsConnected)
            {
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "not connected");
            }
            var result = (RedisResult[])(await redis.GetDatabase()
                .ScriptEvaluateAsync(TakeScript, [KeyOf(userId)], [options.Value.PostsPerMinute, (long)Window.TotalMilliseconds])
                .WaitAsync(options.Value.RedisTimeout, time))!;
            Recovered();
            return ((long)result[0] == 1, TimeSpan.FromMilliseconds(Math.Max(0, (long)result[1])));
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            if (Interlocked.Exchange(ref _unavailable, 1) == 0)
            {
                Log.CountingUnavailable(logger, ex.GetType().Name, ex.Message);
            }
            return (true, TimeSpan.Zero);
        }
    }

    /// <summary>Gives back a call taken by <see cref="TryTakeAsync"/> (best effort: an outage loses the refund).</summary>
    /// <param name="userId">The caller.</param>
    public async Task RefundAsync(string userId)
    {
        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(RefundScript, [KeyOf(userId)]).WaitAsync(options.Value.RedisTimeout, time);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            // The outage is reported by TryTakeAsync; a lost refund costs the user one call of this window.
        }
    }

    private void Recovered()
    {
        if (Interlocked.Exchange(ref _unavailable, 0) == 1)
        {
            Log.CountingRestored(logger);
        }
    }

    /// <summary>
    /// The limiter of one user's partition for ASP.NET Core's rate-limiting middleware: acquiring takes from
    /// <see cref="PostsQuota"/>; a refused lease carries <see cref="MetadataName.RetryAfter"/>. The lease registers the
    /// refund of a malformed call on the request's response.
    /// </summary>
    /// <param name="quota">The shared quota.</param>
    /// <param name="userId">The partition's user.</param>
    /// <param name="requests">The current request (the middleware acquires within it).</param>
    internal sealed class UserLimiter(PostsQuota quota, string userId, IHttpContextAccessor requests) : RateLimiter
    {
        private long _lastUsed = Environment.TickCount64;

        /// <inheritdoc/>
        public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastUsed));

        /// <inheritdoc/>
        public override RateLimiterStatistics? GetStatistics() => null;

        // The count lives in Redis: nothing is decided without asking it, so the middleware goes on to AcquireAsync.
        /// <inheritdoc/>
        protected override RateLimitLease AttemptAcquireCore(int permitCount) => Lease.NotYet;

        /// <inheritdoc/>
        protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
        {
            Interlocked.Exchange(ref _lastUsed, Environment.TickCount64);
            var (taken, retryAfter) = await quota.TryTakeAsync(userId);
            if (!taken)
            {
                return new Lease(false, retryAfter);
            }
            if (requests.HttpContext is { } context)
            {
                context.Response.OnStarting(static state =>
                {
                    var (response, quota, userId) = ((HttpResponse, PostsQuota, string))state;
                    return IsMalformed(response.StatusCode) ? quota.RefundAsync(userId) : Task.CompletedTask;
                }, (context.Response, quota, userId));
            }
            return Lease.Granted;
        }

        private static bool IsMalformed(int status) => status is StatusCodes.Status400BadRequest
            or StatusCodes.Status413PayloadTooLarge or StatusCodes.Status415UnsupportedMediaType;
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null);
        public static readonly Lease NotYet = new(false, null);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }

    /// <summary>Formats a Retry-After header value: whole seconds, rounded up, at least 1.</summary>
    /// <param name="retryAfter">Time until the window ends.</param>
    public static string RetryAfterSeconds(TimeSpan retryAfter) =>
        Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Posts per user are not counted while Redis is unavailable ({ErrorType}: {Reason}); calls are let through")]
        public static partial void CountingUnavailable(ILogger logger, string errorType, string reason);

        [LoggerMessage(LogLevel.Information, "Posts per user are counted again in Redis")]
        public static partial void CountingRestored(ILogger logger);
    }
}
