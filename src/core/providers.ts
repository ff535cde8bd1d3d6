/**
 * Leaf path segments of every provider whose credentials expose the `/events` log (leaf-api.md).
 * The id is the metric label and config value; `segment` builds `/users/{id}/{segment}[/events]`.
 */
export const PROVIDERS = {
  panorama: { segment: 'panorama-credentials', name: 'Panorama' },
  john_deere: { segment: 'john-deere-credentials', name: 'John Deere' },
  climate_fieldview: { segment: 'climate-field-view-credentials', name: 'Climate FieldView' },
  cnhi: { segment: 'cnhi-credentials', name: 'CNHi' },
  trimble: { segment: 'trimble-credentials', name: 'Trimble' },
  ag_leader: { segment: 'ag-leader-credentials', name: 'AgLeader' },
  agvance: { segment: 'agvance-credentials', name: 'Agvance' },
  raven: { segment: 'raven-credentials', name: 'Raven' },
  raven_slingshot: { segment: 'raven-slingshot-credentials', name: 'Raven Slingshot' },
  sentera: { segment: 'sentera-credentials', name: 'Sentera' },
  stara: { segment: 'stara-credentials', name: 'Stara' },
  lindsay: { segment: 'lindsay-credentials', name: 'Lindsay' },
  valley: { segment: 'valley-credentials', name: 'Valley' },
} as const;

export type ProviderId = keyof typeof PROVIDERS;
export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];
