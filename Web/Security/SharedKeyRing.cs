using System.Collections.Concurrent;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using StackExchange.Redis;

namespace AiStreaming.Web.Security;

/// <summary>
/// The Data Protection key ring every Web replica shares, in Redis (<see cref="WebAuthExtensions.KeyRingKey"/>, a list
/// written by <see cref="RedisXmlRepository"/>). Two additions keep one ring in practice:
/// <list type="bullet">
/// <item>Each replica remembers every key it has read or made and writes back any that Redis lost (a Redis restarted
/// without its data): the next refresh restores the ring instead of making a new key that no cookie was made with.</item>
/// <item><see cref="StartupLoad"/> loads the ring at start under a Redis lock, so replicas that start together on an
/// empty Redis make one key between them, not one each.</item>
/// </list>
/// </summary>
/// <param name="database">Web's Redis database.</param>
internal sealed partial class SharedKeyRing(Func<IDatabase> database) : IXmlRepository
{
    private readonly RedisXmlRepository _redis = new(database, WebAuthExtensions.KeyRingKey);
    private readonly ConcurrentDictionary<string, XElement> _known = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var stored = new HashSet<string>(StringComparer.Ordinal);
        foreach (var element in _redis.GetAllElements())
        {
            var id = IdOf(element);
            stored.Add(id);
            _known.TryAdd(id, element);
        }
        foreach (var (id, element) in _known)
        {
            if (!stored.Contains(id))
            {
                _redis.StoreElement(element, id);
            }
        }
        return [.. _known.Values];
    }

    /// <inheritdoc />
    public void StoreElement(XElement element, string friendlyName)
    {
        _redis.StoreElement(element, friendlyName);
        _known[IdOf(element)] = element;
    }

    // A key's id attribute; a revocation (no id) by its whole text.
    private static string IdOf(XElement element) => (string?)element.Attribute("id") ?? element.ToString(SaveOptions.DisableFormatting);

    /// <summary>Loads the key ring before Web serves anything, one replica at a time (Redis lock <c>web:data-protection-lock</c>, 30 s at most).</summary>
    internal sealed partial class StartupLoad(IConnectionMultiplexer redis, IDataProtectionProvider provider, ILogger<StartupLoad> logger) : IHostedService
    {
        private static readonly RedisKey LockKey = "web:data-protection-lock";

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var db = redis.GetDatabase();
            var token = Guid.NewGuid().ToString("N");
            var locked = false;
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(TimeSpan.FromSeconds(30));
                while (!(locked = await db.LockTakeAsync(LockKey, token, TimeSpan.FromSeconds(30))))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), wait.Token);
                }
                // Protecting anything makes the provider read the ring, and make the first key if Redis has none.
                provider.CreateProtector(nameof(SharedKeyRing)).Protect([0]);
            }
            catch (Exception ex) when (ex is RedisException or OperationCanceledException or InvalidOperationException)
            {
                // The ring then loads on first use; Web's health check reports Redis.
                LogNotLoaded(logger, ex.GetType().Name, ex.Message);
            }
            finally
            {
                if (locked)
                {
                    await db.LockReleaseAsync(LockKey, token);
                }
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(LogLevel.Warning, "Could not load the shared key ring at start ({Error}: {Message})")]
        private static partial void LogNotLoaded(ILogger logger, string error, string message);
    }
}
