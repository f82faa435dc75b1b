using AiStreaming.Identity.Authorization;
using AiStreaming.Identity.Data;
using AiStreaming.Identity.Users;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddIdentityData();       // PostgreSQL "identitydb" database: OpenIddict's stores and the development users
builder.AddDevelopmentUsers();   // seeded users, optional registration, the login cookie
builder.AddAuthorizationServer(); // OpenIddict: authorization code + PKCE, end session, seeded clients
builder.Services.AddRazorPages();

var app = builder.Build();

app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultEndpoints();
app.MapRazorPages();
app.MapAuthorizationEndpoints();

app.Run();
