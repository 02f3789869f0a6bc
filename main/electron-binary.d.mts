export declare const ELECTRON_INSTALL_SCRIPT: string;
export declare const ELECTRON_VERSION: string;
export declare function electronBinary(): { path: string; missing?: undefined } | { missing: string; path?: undefined };
