// Assistant text is markdown written by a model: parse it with marked (GFM), then sanitize the HTML
// with DOMPurify before it touches the DOM, so no reply can inject script or event handlers.

const { Marked } = globalThis.marked;
const DOMPurify = globalThis.DOMPurify;

const parser = new Marked({ gfm: true, breaks: false, async: false });

// Images are dropped too: a reply could be steered (prompt injection) into loading an image whose
// URL carries conversation data to a third party. Forms and styles have no place in a reply either.
const SANITIZE = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ['img', 'picture', 'video', 'audio', 'source', 'style', 'form', 'input', 'button', 'textarea', 'select'],
};

// Links in replies open in a new tab and get no handle on this page.
DOMPurify.addHook('afterSanitizeAttributes', node => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/**
 * Renders markdown `text` into `element` (replacing its content).
 * Partial markdown (an unclosed code fence mid-stream) renders as well as it can and settles when the text completes.
 * @param {HTMLElement} element
 * @param {string} text
 */
export function renderMarkdown(element, text) {
  element.innerHTML = DOMPurify.sanitize(parser.parse(text ?? ''), SANITIZE);
}
