// The admin pages and the history page, registered for their routes
// (#/admin/…, #/history); imported for its effect by widgets/index.ts.
import { pages } from '../pages/registry';
import { AdminPage } from './admin';
import { HistoryPage } from '../pages/history';

pages.set('admin', AdminPage);
pages.set('history', HistoryPage);
