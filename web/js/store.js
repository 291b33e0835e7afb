// The one live list of appointments behind a screen (the operator's board and the staff's
// own list): the copies held, the rule for which copy wins (`isCurrent`: never an older
// version; after one left this user's view, only a newer copy), the live socket's
// messages, and running a workflow step. A view says what belongs in it (`keep`), what a
// fresh `initial_data` means for it (`onInitial`), and redraws on `onChange`.

import { api } from './api.js';
import { runAction } from './forms.js';
import { toast } from './ui.js';
import { actionInfo } from './workflow.js';

export class LiveList {
  // keep(a): does this copy belong here (the board: its day)? A copy that does not is
  // dropped. onInitial(list): the socket (re)started with `list`. onChange(): redraw.
  constructor({ keep = () => true, onInitial, onChange = () => {} } = {}) {
    this.appts = new Map();
    // id → the version at which it left this view, so a late copy cannot bring it back.
    this.gone = new Map();
    // Ids changed live since the last draw (the view highlights them).
    this.flash = new Set();
    // Ids changed live while a list request is on its way (`track`).
    this.during = null;
    // Ids with a workflow step on its way to the server: their buttons are disabled.
    this.busy = new Set();
    this.keep = keep;
    this.onInitial = onInitial || ((list) => this.replace(list));
    this.onChange = onChange;
  }

  values() {
    return [...this.appts.values()];
  }

  clear() {
    this.appts.clear();
  }

  // Is `a` a copy to keep: not older than the one held, not one that already left?
  isCurrent(a) {
    const v = a.version ?? 0;
    if (this.gone.has(a.id) && v <= this.gone.get(a.id)) return false;
    const held = this.appts.get(a.id);
    return !(held && (held.version ?? 0) > v);
  }

  // Keeps the newer of two copies; one that no longer belongs here leaves.
  upsert(a, flash = true) {
    if (!this.isCurrent(a)) return;
    if (!this.keep(a)) {
      this.appts.delete(a.id);
      return;
    }
    this.appts.set(a.id, a);
    if (flash) {
      this.flash.add(a.id);
      this.during?.add(a.id);
    }
  }

  // An `appointment_deleted`: it left this view at `msg.version` (an older server
  // without it: for good).
  forget(msg) {
    this.gone.set(msg.appointment_id, msg.version ?? Infinity);
    this.appts.delete(msg.appointment_id);
  }

  // Starts collecting the ids that change live from now on: they are newer than a list
  // requested now. Returns the set.
  track() {
    this.during = new Set();
    return this.during;
  }

  // `list` is now the whole list, except what `stays(a)` keeps of the copies it lacks.
  replace(list, stays = () => false) {
    const ids = new Set(list.map((a) => a.id));
    for (const [id, a] of this.appts) if (!ids.has(id) && !stays(a)) this.appts.delete(id);
    for (const a of list) this.upsert(a, false);
  }

  // A live socket message; anything but appointments is ignored.
  onLive(msg) {
    switch (msg.type) {
      case 'initial_data':
        this.onInitial(msg.appointments || []);
        break;
      case 'appointment_created':
      case 'appointment_updated':
        this.upsert(msg.appointment);
        break;
      case 'appointment_deleted':
        this.forget(msg);
        break;
      default:
        return;
    }
    this.onChange();
  }

  // Runs workflow step `action` on `a` (asking for its inputs first). When the server
  // refuses it (409: it no longer fits; 403: no longer yours), shows why and the
  // server's current copy.
  async act(a, action, refs) {
    // A second tap while the first step's request is on its way sends nothing.
    if (this.busy.has(a.id)) return;
    // A step with a form waits in its (modal) dialog, whose own button is disabled while
    // it sends; one without is sent at once, so its card waits.
    const direct = !actionInfo(action).inputs?.length;
    if (direct) {
      this.busy.add(a.id);
      this.onChange();
    }
    try {
      const saved = await runAction(a, action, refs);
      if (saved) {
        this.upsert(saved);
        this.onChange();
      }
    } catch (err) {
      toast(err.message, 'bad', 10000);
      if (err.status === 409 || err.status === 403) this.refresh(a.id);
    } finally {
      if (direct) {
        this.busy.delete(a.id);
        this.onChange();
      }
    }
  }

  // Shows the server's current copy (or drops it when we may no longer see it).
  async refresh(id) {
    try {
      this.upsert(await api('GET', `/api/scheduling/appointments/${id}/`));
    } catch {
      this.appts.delete(id);
    }
    this.onChange();
  }
}
