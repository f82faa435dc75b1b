using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AiStreaming.Web.Pages;

/// <summary>
/// The chat page, served at <c>/</c> and <c>/c/{id}</c> (the selected conversation, so a reload keeps it).
/// Requires a signed-in user (else redirects to <c>/account/signin</c>). The page is a shell: <c>wwwroot/js/chat.js</c> loads conversations from <c>/api</c> and streams from <c>/hubs/stream</c>.
/// </summary>
[Authorize]
public sealed class IndexModel : PageModel
{
    /// <summary>Conversation selected by the URL, if any.</summary>
    [BindProperty(SupportsGet = true)]
    public Guid? Id { get; set; }
}
