using AiStreaming.Web.Proxy;
using AiStreaming.Web.Security;

var builder = WebApplication.CreateBuilder(args);

// The AppHost runs Web from its build output: serve wwwroot through the build's static web assets
// manifest (fingerprinted and precompressed files) in every environment. No-op when published.
builder.WebHost.UseStaticWebAssets();

builder.AddServiceDefaults();
builder.Services.AddRazorPages(options => options.Conventions.AddPageRoute("/Index", "c/{id:guid}"));
builder.AddWebAuth();            // OpenID Connect sign-in, shared key ring, revocable cookie, user tokens for the services
builder.AddBrowserProtection();  // security headers, Origin and CSRF checks
builder.AddStreamingProxy();

var app = builder.Build();

app.UseBrowserProtection();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultEndpoints();
app.MapStaticAssets();
app.MapRazorPages().WithStaticAssets();
app.MapSignIn();
app.MapStreamingProxy();

app.Run();
