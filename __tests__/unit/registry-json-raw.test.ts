import { rawArrayElements } from '../../src/registry/json-raw.js';

describe('rawArrayElements', () => {
  it('returns each element exactly as written, escapes, key order and spacing kept', () => {
    const a = '{"digest":"sha256:1","mediaType":"x","annotations":{"k":"\\u003cpem\\u003e \\"q\\" ] } ,"}}';
    const b = '{ "size" : 3 ,\n "digest":"sha256:2" }';
    const text = `{"schemaVersion":2,"config":{"layers":[]},"layers":[ ${a} ,\n${b}],"tail":[1]}`;
    expect(rawArrayElements(text, 'layers')).toEqual([a, b]);
    expect(JSON.parse(rawArrayElements(text, 'layers')![0]).annotations.k).toBe('<pem> "q" ] } ,');
  });

  it('handles primitives, nesting, empty arrays and absent keys', () => {
    expect(rawArrayElements('{"m":[1, true ,null,"s",[2,[3]],{"a":{}}]}', 'm')).toEqual(['1', 'true', 'null', '"s"', '[2,[3]]', '{"a":{}}']);
    expect(rawArrayElements('{"m":[]}', 'm')).toEqual([]);
    expect(rawArrayElements('{"other":[1]}', 'm')).toBeUndefined();
  });

  it('resolves a duplicated key like JSON.parse (the last wins)', () => {
    expect(rawArrayElements('{"m":[1],"m":[2]}', 'm')).toEqual(['2']);
  });

  it('refuses invalid JSON and non-arrays', () => {
    expect(() => rawArrayElements('{"m":[1,}', 'm')).toThrow(SyntaxError);
    expect(() => rawArrayElements('{"m":{}}', 'm')).toThrow(/not an array/);
    expect(() => rawArrayElements('[1]', 'm')).toThrow(/not a JSON object/);
  });
});
