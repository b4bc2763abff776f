import { Hono } from 'hono';
import { homePage } from '../../pages/home-page.js';
import type { PageBranding } from '../../pages/layout.js';
import type { AppEnv } from '../app-env.js';
import { htmlPage } from './page-response.js';

/** `GET /`: a small page naming the issuer, instead of a JSON 404 for someone who opens its address. */
export function homeRoute(options: { branding: PageBranding; signupEnabled: boolean }): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', function home(c) {
    return htmlPage(c, homePage(options.branding, { signupEnabled: options.signupEnabled }));
  });
  return routes;
}
