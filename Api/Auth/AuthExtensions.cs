using System.Security.Claims;
using System.Threading.RateLimiting;
using AiStreaming.Channels.Security;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace AiStreaming.Api.Auth;

/// <summary>
/// Who calls the Api: every conversation endpoint requires a user token (JWT bearer issued by Web, validated with
/// the shared <c>Auth:SigningKey</c>, <see cref="UserTokens.ValidationParameters"/>). The Api issues subscription
/// tokens (<see cref="SubscriptionTokens"/>) and limits posts per user across replicas (<see cref="PostsPolicy"/>).
/// </summary>
public static class AuthExtensions
{
    /// <summary>
    /// Rate-limiter policy of state-changing calls: <see cref="ApiLimitsOptions.PostsPerMinute"/> per user, counted across
    /// replicas in Redis (<see cref="PostsQuota"/>).
    /// </summary>
    public const string PostsPolicy = "posts-per-user";

    /// <summary>
    /// Adds user-token authentication and <see cref="SubscriptionTokens"/> (<c>AddUserTokenAuthentication</c>, shared
    /// with the streamer), <see cref="ApiLimitsOptions"/> and the rate limiter (rejections: 429 ProblemDetails with
    /// <c>Retry-After</c>).
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddApiAuth(this IHostApplicationBuilder builder)
    {
        builder.AddUserTokenAuthentication();
        builder.Services.AddOptions<ApiLimitsOptions>().BindConfiguration(ApiLimitsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PostsQuota>();
        builder.Services.AddHttpContextAccessor();

        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = PostsQuota.RetryAfterSeconds(retryAfter);
                }
                await TypedResults.Problem(
                    title: "Too many requests",
                    detail: "You are sending messages too fast; wait a moment and retry.",
                    statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(context.HttpContext);
            };
            limiter.AddPolicy(PostsPolicy, context => RateLimitPartition.Get(
                UserTokens.UserId(context.User) ?? "",
                userId => new PostsQuota.UserLimiter(
                    context.RequestServices.GetRequiredService<PostsQuota>(), userId,
                    context.RequestServices.GetRequiredService<IHttpContextAccessor>())));
        });
        return builder;
    }

    /// <summary>The caller's user id (<c>sub</c>); the endpoints require an authenticated user.</summary>
    /// <param name="user">The request's principal.</param>
    /// <exception cref="InvalidOperationException">Called on an anonymous request (authorization should have refused it).</exception>
    public static string RequireUserId(this ClaimsPrincipal user) =>
        UserTokens.UserId(user) ?? throw new InvalidOperationException("The endpoint requires an authenticated user.");
}
