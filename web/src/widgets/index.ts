// Every widget module, imported for its registration.
import './calls';
import './mycalls';
import './queue';
import './phonebook';
import './history';
// The browser phone: widget 'phone', the side panel and the header button.
import '../phone/panel';
// The admin pages and #/history.
import '../admin/index';
// The agent desktop's always-mounted dialogs (registered as overlays).
import '../dialogs/wrapup';
import '../dialogs/rona';
