// Every widget module, imported for its registration.
import './calls';
import './mycalls';
import './queue';
import './phonebook';
