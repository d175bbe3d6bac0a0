import { render } from 'preact';
import 'gridstack/dist/gridstack.min.css';
import './style.css';
import './widgets/index';
import { App } from './app';

render(<App />, document.getElementById('app')!);
