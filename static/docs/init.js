// Starts Swagger UI on /docs (templates/docs.html): no inline script, so the page's policy can forbid them.
"use strict";

(function () {
    var root = document.getElementById("swagger-ui");
    window.ui = SwaggerUIBundle({
        url: root.dataset.specUrl,
        domNode: root,
        deepLinking: true,
        // The page talks to its own origin only: no badge from the public validator.
        validatorUrl: null,
        // A token given under Authorize stays in this page's memory, never in localStorage.
        persistAuthorization: false,
        // Only the document the page names: no ?url= or ?configUrl= from the address bar.
        queryConfigEnabled: false,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
    });
})();
