using System.Collections.Concurrent;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using StackExchange.Redis;

namespace AiStreaming.Web.Security;

/// <summary>
/// The Data Protection key ring every Web replica shares, in Redis (<see cref="WebAuthExtensions.KeyRingKey"/>, a list
/// written by <see cref="RedisXmlRepository"/>). Two additions keep one ring in practice:
/// <list type="bullet">
/// <item>Replicas that start together on an empty Redis make one key between them, not one each: a replica that finds
/// no key takes a Redis lock (<c>web:data-protection-lock</c>, 30 s at most) until it has stored the key it makes, and
/// the others, once they hold the lock, read that key instead.</item>
/// <item>Each replica remembers every key it has read or made and writes back any that Redis lost (a Redis restarted
/// without its data): the next refresh restores the ring instead of making a new key that no cookie was made with.</item>
/// </list>
/// </summary>
/// <param name="database">Web's Redis database.</param>
internal sealed class SharedKeyRing(Func<IDatabase> database) : IXmlRepository
{
    private static readonly RedisKey LockKey = "web:data-protection-lock";
    private static readonly TimeSpan LockTime = TimeSpan.FromSeconds(30);

    private readonly RedisXmlRepository _redis = new(database, WebAuthExtensions.KeyRingKey);
    private readonly ConcurrentDictionary<string, XElement> _known = new(StringComparer.Ordinal);
    private readonly string _lockToken = Guid.NewGuid().ToString("N");
    private volatile bool _holdsLock;

    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var elements = _redis.GetAllElements();
        if (elements.Count == 0 && _known.IsEmpty)
        {
            // First key of the ring: one replica makes it (kept until StoreElement), the others then read it.
            var deadline = DateTime.UtcNow + LockTime;
            while (!(_holdsLock = database().LockTake(LockKey, _lockToken, LockTime)) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
            elements = _redis.GetAllElements();
            if (elements.Count > 0)
            {
                ReleaseLock();
            }
        }
        var stored = new HashSet<string>(StringComparer.Ordinal);
        foreach (var element in elements)
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
        ReleaseLock();
    }

    private void ReleaseLock()
    {
        if (_holdsLock)
        {
            _holdsLock = false;
            database().LockRelease(LockKey, _lockToken);
        }
    }

    // A key's id attribute; a revocation (no id) by its whole text.
    private static string IdOf(XElement element) => (string?)element.Attribute("id") ?? element.ToString(SaveOptions.DisableFormatting);
}
